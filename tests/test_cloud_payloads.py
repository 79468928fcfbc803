"""The request bodies have the shapes of Meta's own examples (tests/fixtures/meta), and the
template JSON of the list API becomes the desk's Template."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from backends.cloud import payloads
from backends.cloud.templates import template_from_graph
from desk.models import Customer, Template, TemplateButton, TemplateStatus

META = Path(__file__).parent / "fixtures" / "meta"
REQUESTS: dict[str, Any] = json.loads((META / "send-message-request-examples.json").read_text(encoding="utf-8"))
LISTING: dict[str, Any] = json.loads((META / "message-templates-list-examples.json").read_text(encoding="utf-8"))

PHONE = "+16505551234"
BSUID = "US.13491208655302741918"
WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUYzMjEzNDM2RTZGQ0MzMDJBRgA="


def same_shape(a: Any, b: Any, where: str = "$") -> None:
    """Same keys at every level and the same JSON types (lists: every item like the first of b)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert set(a) == set(b), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            same_shape(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert bool(a) == bool(b), f"{where}: one list is empty"
        for i, item in enumerate(a):
            same_shape(item, b[min(i, len(b) - 1)], f"{where}[{i}]")


def example(name: str, **substitutions: str) -> Any:
    """A request example with its Postman placeholders replaced by real values."""
    text = json.dumps(REQUESTS[name])
    for placeholder, value in substitutions.items():
        text = text.replace(placeholder, value)
    return json.loads(text)


def test_same_shape_notices_differences():
    same_shape({"a": [{"b": 1}]}, {"a": [{"b": 2}, {"b": 3}]})
    for a, b in (({"a": 1}, {"a": "1"}), ({"a": 1}, {"a": 1, "b": 2}), ({"a": [{"b": 1}]}, {"a": [{"c": 1}]})):
        with pytest.raises(AssertionError):
            same_shape(a, b)


# --- text ------------------------------------------------------------------------------------------


def test_text_is_the_send_text_message_example():
    built = payloads.text(PHONE, "text-message-content")
    assert built == example("Send Text Message", **{"{{Recipient-Phone-Number}}": PHONE})


def test_text_with_preview_url():
    built = payloads.text(PHONE, "Please visit https://youtu.be/hpltvTEiRrY.", preview_url=True)
    wanted = example("Send Text Message with Preview URL", **{"{{Recipient-Phone-Number}}": PHONE})
    # Meta's preview example leaves out the two envelope keys every other example carries.
    assert {k: v for k, v in built.items() if k not in ("recipient_type", "type")} == wanted
    same_shape(built, example("Send Text Message"))
    assert built["text"]["preview_url"] is True


def test_reply_to_a_message_carries_the_context():
    built = payloads.text(PHONE, "<TEXT_MSG_CONTENT>", reply_to="wamid.PREVIOUS")
    wanted = example(
        "Send Reply to Text Message",
        **{"{{Recipient-Phone-Number}}": PHONE, "<MSGID_OF_PREV_MSG>": "wamid.PREVIOUS"},
    )
    assert built == wanted


def test_a_reaction_is_the_send_reply_with_reaction_message_example():
    built = payloads.reaction(PHONE, "wamid.HBgLM...", "😀")
    assert built == example("Send Reply with Reaction Message", **{"{{Recipient-Phone-Number}}": PHONE})
    # An empty emoji removes our reaction: the same shape, the emoji "".
    removed = payloads.reaction(PHONE, WAMID, "")
    same_shape(removed, built)
    assert removed["reaction"] == {"message_id": WAMID, "emoji": ""}
    with pytest.raises(ValueError):
        payloads.reaction(PHONE, "", "👍")


def test_a_customer_is_addressed_by_phone_or_by_bsuid():
    with_phone = Customer(id="16505551234", name="Ana", phone=PHONE)
    username_only = Customer(id=BSUID, name="Lena K.", phone=None, username="lena")
    assert payloads.text(with_phone, "hi")["to"] == PHONE
    built = payloads.text(username_only, "hi")
    assert built["recipient"] == BSUID and "to" not in built
    assert built["recipient_type"] == "individual" and built["messaging_product"] == "whatsapp"
    assert payloads.text("US.ENT.11815799212886844830", "hi")["recipient"] == "US.ENT.11815799212886844830"


@pytest.mark.parametrize("to", ["16505551234", "0049 30 1234567", "", "lena", "+"])
def test_a_number_without_plus_is_refused(to):
    with pytest.raises(ValueError, match=r"\+"):
        payloads.text(to, "hi")


# --- templates -------------------------------------------------------------------------------------


def _tpl(**changes: Any) -> Template:
    base = dict(
        name="template-name",
        language="en_US",
        category="UTILITY",
        status=TemplateStatus.APPROVED,
        business_number_id="100",
        body="Hi {{1}}",
    )
    return Template(**(base | changes))


def _text_parameters_only(body: dict[str, Any]) -> dict[str, Any]:
    """The example with its currency/date_time parameters dropped: the desk sends text only."""
    body = copy.deepcopy(body)
    for component in body["template"]["components"]:
        component["parameters"] = [p for p in component["parameters"] if p["type"] == "text"]
    return body


def test_positional_template_is_the_message_template_text_example():
    built = payloads.template(PHONE, _tpl(body="Your order {{1}} ships today."), {"1": "text-string"})
    wanted = _text_parameters_only(
        example("Send Message Template Text", **{"{{Recipient-Phone-Number}}": PHONE, "language-and-locale-code": "en_US"})
    )
    assert built == wanted
    same_shape(built, example("Send Message Template Text"))


def test_shipping_confirmation_shape_but_never_a_number_without_plus():
    shipping = example("Send Sample Shipping Confirmation Template", **{"language-and-locale-code": "en_US"})
    assert not shipping["to"].startswith("+")  # Meta's sample; the desk always sends "+"
    built = payloads.template(PHONE, _tpl(body="Shipped: {{1}}"), {"1": "text-string"})
    same_shape(built, shipping)
    assert built == _text_parameters_only(shipping) | {"to": PHONE}


def test_issue_resolution_body_component():
    issue = example("Send Sample Issue Resolution Template", **{"{{Recipient-Phone-Number}}": PHONE})
    tpl = _tpl(name="sample_issue_resolution", language="en_US", body="Hi {{1}}, were we able to solve the issue?")
    built = payloads.template(PHONE, tpl, {"1": "*Mr. Jones*"})
    assert built["template"]["name"] == issue["template"]["name"]
    assert built["template"]["language"]["code"] == issue["template"]["language"]["code"]
    assert built["template"]["components"] == [c for c in issue["template"]["components"] if c["type"] == "body"]


def test_header_and_body_parameters_in_their_own_components_in_order():
    # WhatsApp numbers each component from {{1}}: the header's {{1}} is filled as "header.1".
    tpl = _tpl(header="Order {{1}}", body="Hi {{1}}, your code is {{2}}; again {{1}}.")
    assert tpl.parameters() == ["header.1", "1", "2"]
    built = payloads.template(PHONE, tpl, {"2": "FALL25", "header.1": "A-17", "1": "Mark", "9": "unused"})
    assert built["template"]["components"] == [
        {"type": "header", "parameters": [{"type": "text", "text": "A-17"}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Mark"}, {"type": "text", "text": "FALL25"}]},
    ]


def test_named_template_adds_parameter_name():
    tpl = _tpl(body="Hi {{first_name}}, order {{order_id}} is ready.", parameter_format="NAMED", language="en-US")
    built = payloads.template(PHONE, tpl, {"first_name": "Jo", "order_id": "123"})
    assert built["template"]["language"] == {"code": "en_US"}
    assert built["template"]["components"] == [
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "Jo", "parameter_name": "first_name"},
                {"type": "text", "text": "123", "parameter_name": "order_id"},
            ],
        }
    ]
    envelope = example("Send Message Template Text")
    same_shape({k: v for k, v in built.items() if k != "template"}, {k: v for k, v in envelope.items() if k != "template"})


def test_template_without_parameters_has_no_components():
    built = payloads.template(PHONE, _tpl(name="hello_world", language="en_US", body="Welcome!"), {})
    assert built["template"] == {"name": "hello_world", "language": {"code": "en_US"}}


@pytest.mark.parametrize("values", [{}, {"1": ""}, {"1": "   "}, {"2": "x"}])
def test_a_missing_template_value_is_refused_before_whatsapp_sees_it(values):
    with pytest.raises(ValueError, match=r"\{\{1\}\}"):
        payloads.template(PHONE, _tpl(), values)


# --- media and read --------------------------------------------------------------------------------


def test_image_by_id():
    built = payloads.media(PHONE, "image", "1234567890")
    assert built == example("Send Image Message by ID", **{"{{Recipient-Phone-Number}}": PHONE, "<IMAGE_OBJECT_ID>": "1234567890"})


def test_document_by_id_with_caption_and_filename():
    built = payloads.media(PHONE, "document", "987", caption="Your invoice", filename="invoice.pdf")
    wanted = example(
        "Send Document Message by ID",
        **{
            "{{Recipient-Phone-Number}}": PHONE,
            "<DOCUMENT_OBJECT_ID>": "987",
            "<DOCUMENT_CAPTION_TO_SEND>": "Your invoice",
            "<DOCUMENT_FILENAME>": "invoice.pdf",
        },
    )
    assert built == wanted


@pytest.mark.parametrize("kind", ["image", "video", "audio", "document", "sticker"])
def test_every_media_kind_by_id_and_as_a_reply(kind):
    name = f"Send Reply to {kind.capitalize()} Message by ID"
    built = payloads.media(
        PHONE, kind, "1", caption="c" if kind in ("image", "video", "document") else None,
        filename="f.pdf" if kind == "document" else None, reply_to="wamid.X",
    )
    wanted = REQUESTS[name]
    # Meta's reply examples omit the optional caption on images and videos.
    if kind in ("image", "video") and "caption" not in wanted[kind]:
        built[kind].pop("caption")
    same_shape(built, wanted)
    assert built["context"] == {"message_id": "wamid.X"}


def test_media_mistakes_are_refused():
    with pytest.raises(ValueError):
        payloads.media(PHONE, "voice", "1")
    with pytest.raises(ValueError):
        payloads.media(PHONE, "audio", "1", caption="no")
    with pytest.raises(ValueError):
        payloads.media(PHONE, "image", "1", filename="x.png")


def test_mark_as_read_is_the_typing_example_without_typing():
    typing_example = example("Send typing indicator and read receipt")
    wamid = typing_example["message_id"]
    assert payloads.read(wamid, typing=True) == typing_example
    without = {k: v for k, v in typing_example.items() if k != "typing_indicator"}
    assert payloads.read(wamid) == without
    same_shape(payloads.read(WAMID), without)


# --- the template list -----------------------------------------------------------------------------


def test_templates_from_the_list_example():
    docs = LISTING["Example response"]["data"]
    hello, promo = (template_from_graph(d, "100") for d in docs)
    assert hello == Template(
        name="hello_world",
        language="en_US",
        category="MARKETING",
        status=TemplateStatus.APPROVED,
        business_number_id="100",
        body=docs[0]["components"][1]["text"],
        header="Hello World",
        footer="WhatsApp Business API Team",
        parameter_format="POSITIONAL",
        id="1192339204654487",
    )
    assert promo.header == "Fall Sale"
    assert promo.buttons == (TemplateButton("QUICK_REPLY", "Stop promotions"),)
    assert promo.parameters() == ["1", "2"]
    assert promo.sendable


def test_template_media_header_language_status_and_named_format():
    doc = {
        "name": "order_update",
        "language": "pt-BR",
        "status": "flagged",
        "category": "UTILITY",
        "parameter_format": "NAMED",
        "components": [
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["x"]}},
            {"type": "BODY", "text": "Olá {{name}}"},
            {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Track", "url": "https://x/{{1}}"}]},
            {"type": "CAROUSEL", "cards": []},
        ],
        "id": 42,
    }
    tpl = template_from_graph(doc, "200")
    assert (tpl.language, tpl.status, tpl.header, tpl.parameter_format, tpl.id) == ("pt_BR", "flagged", "[image header]", "NAMED", "42")
    assert tpl.buttons == (TemplateButton("URL", "Track"),)
    assert tpl.parameters() == ["name"]
    assert template_from_graph({"name": "x", "language": "en", "status": "PAUSED"}, "1").status is TemplateStatus.PAUSED
