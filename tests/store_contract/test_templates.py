"""Each business number's template catalogue: a full sync (with its time) replaces it; a webhook
about a template or two (no sync time) updates those, named by name and language, and keeps the
rest and the time of the last full sync."""

from __future__ import annotations

from desk.models import TemplateStatus
from desk.store.contract import Store
from tests.store_contract.builders import BN, OTHER_BN, at, catalogue, template, templates_changed
from tests.store_contract.harness import StoreHarness

WELCOME, RECEIPT, SURVEY = template("welcome"), template("receipt"), template("survey")


def test_no_templates_and_no_sync_before_the_first(store: Store) -> None:
    assert store.templates(OTHER_BN) == []
    assert store.templates_synced_at(OTHER_BN) is None


def test_a_full_sync_replaces_the_catalogue(store: Store) -> None:
    store.apply(templates_changed(WELCOME, RECEIPT, synced_at=at(1)))
    assert catalogue(store) == {("welcome", "en_US"): WELCOME, ("receipt", "en_US"): RECEIPT}
    assert store.templates_synced_at(OTHER_BN) is None
    store.apply(templates_changed(SURVEY, synced_at=at(2)))
    assert catalogue(store) == {("survey", "en_US"): SURVEY}
    assert store.templates_synced_at(BN) == at(2)


def test_a_webhook_updates_the_template_it_names_and_keeps_the_rest_and_the_last_sync(store: Store) -> None:
    store.apply(templates_changed(WELCOME, RECEIPT, synced_at=at(1)))
    paused = template("welcome", st=TemplateStatus.PAUSED)
    store.apply(templates_changed(paused))
    assert catalogue(store) == {("welcome", "en_US"): paused, ("receipt", "en_US"): RECEIPT}
    assert store.templates_synced_at(BN) == at(1)


def test_a_webhook_about_a_new_template_adds_it(store: Store) -> None:
    store.apply(templates_changed(WELCOME, synced_at=at(1)))
    store.apply(templates_changed(SURVEY))
    assert catalogue(store) == {("welcome", "en_US"): WELCOME, ("survey", "en_US"): SURVEY}
    assert store.templates_synced_at(BN) == at(1)


def test_a_template_is_named_by_its_name_and_its_language(store: Store) -> None:
    store.apply(templates_changed(WELCOME, synced_at=at(1)))
    spanish = template("welcome", "es", body="Hola {{1}}")
    store.apply(templates_changed(spanish))
    assert catalogue(store) == {("welcome", "en_US"): WELCOME, ("welcome", "es"): spanish}


def test_a_webhook_before_any_full_sync_keeps_no_sync_time(store: Store) -> None:
    store.apply(templates_changed(WELCOME))
    assert catalogue(store) == {("welcome", "en_US"): WELCOME}
    assert store.templates_synced_at(BN) is None


def test_each_business_number_has_its_own_catalogue(store: Store) -> None:
    other = template("welcome", bn=OTHER_BN, body="Hi from the other number")
    store.apply(templates_changed(WELCOME, RECEIPT, synced_at=at(1)))
    store.apply(templates_changed(other, synced_at=at(2), bn=OTHER_BN))
    assert catalogue(store) == {("welcome", "en_US"): WELCOME, ("receipt", "en_US"): RECEIPT}
    assert catalogue(store, OTHER_BN) == {("welcome", "en_US"): other}
    assert (store.templates_synced_at(BN), store.templates_synced_at(OTHER_BN)) == (at(1), at(2))


def test_templates_change_no_conversation(store: Store) -> None:
    assert store.apply(templates_changed(WELCOME, synced_at=at(1))) is None
    assert store.is_empty()


def test_templates_survive_a_reopen(harness: StoreHarness) -> None:
    store = harness.open()
    store.apply(templates_changed(WELCOME, RECEIPT, synced_at=at(1)))
    store.apply(templates_changed(template("receipt", st=TemplateStatus.REJECTED)))
    store = harness.reopen()
    assert catalogue(store) == {("welcome", "en_US"): WELCOME, ("receipt", "en_US"): template("receipt", st=TemplateStatus.REJECTED)}
    assert store.templates_synced_at(BN) == at(1)
