"""One template of `GET /{version}/{waba-id}/message_templates` as a `desk.models.Template`.

The catalogue belongs to the WhatsApp Business Account; the desk's Template belongs to a business
number, so the caller makes one per number (`Graph.list_templates` does).
"""

from __future__ import annotations

from typing import Any

from desk.models import Template, TemplateButton, TemplateStatus


def normalise_language(code: str) -> str:
    """"en-US" (template webhooks) and "en_US" (the list API) are the same language: use "_"."""
    return code.strip().replace("-", "_")


def template_from_graph(doc: dict[str, Any], business_number_id: str) -> Template:
    """A Graph template document as the desk's Template.

    A media header (IMAGE, VIDEO, DOCUMENT, LOCATION) becomes a text like "[image header]" so the
    picker shows that one is there; unknown components (CAROUSEL, LIMITED_TIME_OFFER, ...) are
    skipped. Raises KeyError when the document has no name or language.
    """
    header = body = footer = None
    buttons: list[TemplateButton] = []
    for component in doc.get("components") or ():
        kind = str(component.get("type", "")).upper()
        if kind == "HEADER":
            fmt = str(component.get("format") or "TEXT").upper()
            header = component.get("text", "") if fmt == "TEXT" else f"[{fmt.lower()} header]"
        elif kind == "BODY":
            body = component.get("text", "")
        elif kind == "FOOTER":
            footer = component.get("text") or None
        elif kind == "BUTTONS":
            for button in component.get("buttons") or ():
                buttons.append(TemplateButton(str(button.get("type", "")).upper(), str(button.get("text", ""))))
    return Template(
        name=doc["name"],
        language=normalise_language(doc["language"]),
        category=str(doc.get("category") or ""),
        status=TemplateStatus.parse(str(doc.get("status") or "")),
        business_number_id=business_number_id,
        body=body or "",
        header=header or None,
        footer=footer,
        buttons=tuple(buttons),
        parameter_format=str(doc.get("parameter_format") or "POSITIONAL").upper(),
        id=str(doc.get("id") or ""),
    )
