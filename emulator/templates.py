"""Templates on the wire, both ways: a Template as `GET /{waba-id}/message_templates` lists it, the
values a template send carries, and the list's paging. Pure, no I/O.

Shapes: ../shared/reference/whatsapp-cloud-api.md §4 and Meta's list example
(tests/fixtures/meta/message-templates-list-examples.json).
"""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

from desk.models import Template, TemplateStatus
from emulator.wire import Refused

__all__ = ["component_parameters", "cursor", "cursor_index", "template_document", "template_values"]


def template_document(template: Template) -> dict[str, Any]:
    """A template as `GET /{waba-id}/message_templates` lists it (§4.1): the inverse of
    backends.cloud.templates.template_from_graph. Examples are made up from the placeholder names."""
    named = template.parameter_format.upper() == "NAMED"
    components: list[dict[str, Any]] = []
    if template.header:
        header: dict[str, Any] = {"type": "HEADER", "format": "TEXT", "text": template.header}
        names = component_parameters(template, "header")
        if names:
            header["example"] = (
                {"header_text_named_params": [{"param_name": n, "example": _example(n)} for n in names]}
                if named else {"header_text": [_example(n) for n in names]}
            )
        components.append(header)
    body: dict[str, Any] = {"type": "BODY", "text": template.body}
    names = component_parameters(template, "body")
    if names:
        body["example"] = (
            {"body_text_named_params": [{"param_name": n, "example": _example(n)} for n in names]}
            if named else {"body_text": [[_example(n) for n in names]]}
        )
    components.append(body)
    if template.footer:
        components.append({"type": "FOOTER", "text": template.footer})
    if template.buttons:
        buttons = []
        for button in template.buttons:
            doc = {"type": button.type, "text": button.text}
            if button.type == "URL":
                doc["url"] = "https://shop.example.com/"
            buttons.append(doc)
        components.append({"type": "BUTTONS", "buttons": buttons})
    doc: dict[str, Any] = {
        "name": template.name,
        "parameter_format": template.parameter_format.upper(),
        "components": components,
        "language": template.language,
        "status": template.status_name,
        "category": template.category,
        "id": template.id,
    }
    if template.status is TemplateStatus.REJECTED:
        doc["rejected_reason"] = "PROMOTIONAL" if template.category == "MARKETING" else "INVALID_FORMAT"
    return doc


def component_parameters(template: Template, kind: str) -> list[str]:
    """The placeholder names of the template's "header" or "body", POSITIONAL ones in number order
    (a send's values are matched to {{1}}, {{2}} by position, as backends/cloud/payloads.py sends them)."""
    text = template.header if kind == "header" else template.body
    names = replace(template, header=None, body=text or "").parameters()
    if template.parameter_format.upper() != "NAMED" and all(n.isdigit() for n in names):
        names.sort(key=int)
    return names


def _example(name: str) -> str:
    return f"example {name}" if name.isdigit() else f"example_{name}"


def template_values(template: Template | None, components: list[Any]) -> dict[str, str]:
    """The values of a template send, keyed like Template.parameters(): by `parameter_name` for
    NAMED templates, else by position within the header or body (the first {{n}} placeholder of
    that component gets the first value). Values beyond the placeholders get made-up keys, so the
    Simulation sees the count mismatch (132000)."""
    values: dict[str, str] = {}
    for component in components:
        if not isinstance(component, dict):
            continue
        kind = str(component.get("type", "")).lower()
        if kind not in ("header", "body"):
            continue  # buttons: the catalogue's buttons take no parameters
        names = component_parameters(template, kind) if template else []
        position = 0
        for parameter in component.get("parameters") or []:
            text = _parameter_text(parameter)
            if text is None:
                continue  # a media header: no placeholder to fill
            key = parameter.get("parameter_name")
            if not isinstance(key, str) or not key:
                key = names[position] if position < len(names) else f"{kind}#{position + 1}"
            position += 1
            values[key] = text
    return values


def _parameter_text(parameter: object) -> str | None:
    if not isinstance(parameter, dict):
        return None
    kind = parameter.get("type")
    if kind == "text":
        text = parameter.get("text")
        return text if isinstance(text, str) else ""
    if kind in ("currency", "date_time"):
        fallback = (parameter.get(kind) or {}).get("fallback_value")
        return fallback if isinstance(fallback, str) else ""
    return None


# --- paging -----------------------------------------------------------------------------------------


def cursor(index: int) -> str:
    """An opaque Graph cursor for the document at `index` of the list."""
    return base64.urlsafe_b64encode(f"cursor:{index}".encode()).decode().rstrip("=")


def cursor_index(given: str) -> int:
    """The index a cursor of `cursor` stands for; Graph error 100 for anything else."""
    try:
        text = base64.urlsafe_b64decode(given + "=" * (-len(given) % 4)).decode()
        if text.startswith("cursor:"):
            return int(text[len("cursor:"):])
    except (ValueError, UnicodeDecodeError):
        pass
    raise Refused(100, f"Invalid cursor {given!r}.")
