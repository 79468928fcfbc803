"""The template picker lists the customer's language first and says, before anything is sent,
whether the highlighted template is free or billed and why (desk.pricing), in words."""

from __future__ import annotations

from dataclasses import replace

from textual.widgets import Input, Static

from desk.language import LANGUAGES
from desk.models import Template, TemplateStatus
from desk.window import window
from tests.conftest import NOW, find_conversation
from tests.test_flows import open_conversation, open_picker
from tui.labels import language_name
from tui.screens.template_picker import TemplatePicker, in_language

SIZE = (120, 40)


def cost_line(picker: TemplatePicker) -> str:
    return str(picker.query_one("#picker-cost", Static).content)


async def highlight(pilot, picker: TemplatePicker, template: Template) -> None:
    """Type the template's name in the filter, as the agent does (what was typed before erased)."""
    typed = picker.query_one("#picker-filter", Input).value
    await pilot.press(*["backspace"] * len(typed), *template.name)
    await pilot.pause()
    assert picker.highlighted is not None and picker.highlighted.name == template.name


def ad_customer(desk):
    """A conversation whose customer came from a click-to-WhatsApp ad and whose window is open."""
    def predicate(c):
        return window(c.last_inbound_at, NOW).open and any(m.referral for m in desk.store.messages(c.id))
    return predicate


def plain_open(desk):
    def predicate(c):
        return (window(c.last_inbound_at, NOW).open and not c.customer.name.startswith("[")
                and not any(m.referral for m in desk.store.messages(c.id)))
    return predicate


def closed(c):
    return c.last_inbound_at is not None and not window(c.last_inbound_at, NOW).open


async def test_the_cost_line_follows_the_highlighted_template(app, desk):
    async with app.run_test(size=SIZE) as pilot:
        picker = await open_picker(pilot, desk, find_conversation(desk, plain_open(desk)))
        by_name = {t.name: t for t in picker.templates if t.sendable}
        await highlight(pilot, picker, by_name["order_update"])
        assert cost_line(picker) == "This send is free: utility template inside the open 24-hour window"
        await highlight(pilot, picker, by_name["new_collection"])
        assert cost_line(picker) == "This send is billed: marketing template"
        await highlight(pilot, picker, by_name["verification_code"])
        assert cost_line(picker) == "This send is billed: authentication template"


async def test_a_utility_template_outside_the_window_is_billed(app, desk):
    async with app.run_test(size=SIZE) as pilot:
        picker = await open_picker(pilot, desk, find_conversation(desk, closed))
        await highlight(pilot, picker, next(t for t in picker.templates if t.name == "order_update"))
        assert cost_line(picker) == "This send is billed: utility template outside the 24-hour window"


async def test_everything_is_free_for_a_customer_from_an_ad(app, desk):
    async with app.run_test(size=SIZE) as pilot:
        picker = await open_picker(pilot, desk, find_conversation(desk, ad_customer(desk)))
        await highlight(pilot, picker, next(t for t in picker.templates if t.name == "new_collection"))
        assert cost_line(picker) == "This send is free: inside the 72-hour free entry point window from an ad"
        # The chosen template keeps its cost line while the agent fills in the parameters.
        await pilot.press("enter")
        await pilot.pause()
        assert picker.chosen is not None and cost_line(picker).startswith("This send is free: inside the 72-hour")


async def test_a_template_that_cannot_be_sent_says_what_it_would_cost(app, desk):
    async with app.run_test(size=SIZE) as pilot:
        picker = await open_picker(pilot, desk, find_conversation(desk, plain_open(desk)))
        paused = next(t for t in picker.templates if t.status is TemplateStatus.PAUSED)
        await highlight(pilot, picker, paused)
        assert cost_line(picker) == f"This send would be billed: {paused.category.lower()} template"


async def test_the_customer_s_language_comes_first(app, desk):
    async with app.run_test(size=SIZE) as pilot:
        target = find_conversation(desk, plain_open(desk))
        await open_conversation(pilot, target)
        conv = replace(desk.store.conversation(target), language="es")
        templates = desk.store.templates(conv.business_number_id)
        pilot.app.push_screen(TemplatePicker(templates, conv, desk.store.messages(target)))
        await pilot.pause()
        picker = pilot.app.screen
        spanish = [t for t in picker.templates if in_language(t, "es")]
        assert len(spanish) >= 3 and picker.templates[: len(spanish)] == spanish
        # In each group, as before: approved first, then by name.
        assert [t.sendable for t in spanish] == sorted((t.sendable for t in spanish), reverse=True)
        rest = picker.templates[len(spanish):]
        assert [(not t.sendable, t.name) for t in rest] == sorted((not t.sendable, t.name) for t in rest)
        assert "Spanish first" in str(picker.query_one("#picker").border_title)
        assert picker.highlighted == spanish[0]


def test_a_language_matches_its_regional_variants():
    def t(language: str) -> Template:
        return Template("x", language, "UTILITY", TemplateStatus.APPROVED, "bn", "hi")

    assert in_language(t("es"), "es") and in_language(t("es_MX"), "es") and in_language(t("es-ES"), "es")
    assert in_language(t("en_US"), "en") and not in_language(t("en_US"), "es") and not in_language(t("es"), None)


def test_every_detectable_language_has_a_name():
    assert language_name("es") == "Spanish" and language_name("gu") == "Gujarati"
    assert all(language_name(code) != code for code in LANGUAGES)
    assert language_name("xx") == "xx"
