"""One template identity (desk.models.TemplateRef: name and language) for the catalogue merge of the
store and the cloud backend alike, and for the message that records which template was sent."""

from __future__ import annotations

from dataclasses import replace

from desk.models import Template, TemplateRef, TemplateStatus
from desk.store.rules import merge_templates


def template(name: str, language: str, status: TemplateStatus = TemplateStatus.APPROVED) -> Template:
    return Template(name, language, "UTILITY", status, "100000000000001", f"{name} in {language}")


def test_a_template_is_named_by_its_name_and_language():
    t = template("order_update", "en_US")
    assert t.key == TemplateRef("order_update", "en_US") != template("order_update", "es").key
    assert str(t.key) == "order_update (en_US)"  # as a sent message records it


def test_an_update_replaces_the_template_it_names_and_keeps_the_rest_in_order():
    catalogue = (template("a", "en_US"), template("a", "es"), template("b", "en_US"))
    paused = replace(catalogue[1], status=TemplateStatus.PAUSED)
    merged = merge_templates(catalogue, [paused, template("c", "el")])
    assert [str(t.key) for t in merged] == ["a (en_US)", "a (es)", "b (en_US)", "c (el)"]
    assert merged[1].status is TemplateStatus.PAUSED and merged[0].status is TemplateStatus.APPROVED
