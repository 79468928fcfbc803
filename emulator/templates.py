"""Templates on the wire, both ways: a Template as `GET /{waba-id}/message_templates` lists it, the
values a template send carries, and the list's page. Pure, no I/O.

Shapes: ../shared/reference/whatsapp-cloud-api.md §4 and Meta's list example
(tests/fixtures/meta/message-templates-list-examples.json). The list answers Graph's edge
conventions: `fields` (those asked for, and `id`), `limit` (25 by default), cursor paging
(`paging.cursors.before`/`after`; `paging.next` and `paging.previous`, full URLs, only where there
is a page that way; `after=` and `before=` to turn one), and `summary` (`summary=true`, or the
names of the counts wanted).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from desk.models import Template, TemplateStatus
from emulator.wire import Refused, select_fields

if TYPE_CHECKING:
    from yarl import URL  # aiohttp's request.url

__all__ = ["MAX_TEMPLATES", "component_parameters", "template_document", "template_page", "template_values"]

MAX_TEMPLATES = 250
"""A WABA holds at most 250 templates, a name in all its languages counting once (§4.2)."""
_SUMMARY = ("total_count", "message_template_count", "message_template_limit", "are_translations_complete")


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
            entry = {"type": button.type, "text": button.text}
            if button.type == "URL":
                entry["url"] = "https://shop.example.com/"
            buttons.append(entry)
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


# --- the list -----------------------------------------------------------------------------------------


def template_page(documents: list[dict[str, Any]], listed: list[dict[str, Any]], query: Mapping[str, str],
                  url: URL) -> dict[str, Any]:
    """One page of `listed` (the account's `documents` that pass the query's filters), as Graph
    answers `url` with `query`. Error 100 for a bad limit or cursor."""
    limit_text = query.get("limit", "25")
    if not limit_text.isdigit() or int(limit_text) < 1:
        raise Refused(100, f"Invalid parameter limit: {limit_text!r}.")
    limit = int(limit_text)
    if "after" in query:
        start = cursor_index(query["after"]) + 1
        end = start + limit
    elif "before" in query:
        end = cursor_index(query["before"])
        start = max(end - limit, 0)
    else:
        start, end = 0, limit
    end = min(end, len(listed))
    page = listed[start:end] if start < end else []
    answer: dict[str, Any] = {"data": [select_fields(doc, query.get("fields")) for doc in page]}
    if page:
        paging: dict[str, Any] = {"cursors": {"before": cursor(start), "after": cursor(end - 1)}}
        if start > 0:
            paging["previous"] = str(url.without_query_params("after").update_query(before=cursor(start)))
        if end < len(listed):
            paging["next"] = str(url.without_query_params("before").update_query(after=cursor(end - 1)))
        answer["paging"] = paging
    summary = _summary(documents, listed, query.get("summary", ""))
    if summary:
        answer["summary"] = summary
    return answer


def _summary(documents: list[dict[str, Any]], listed: list[dict[str, Any]], asked: str) -> dict[str, Any]:
    """The counts asked for by `summary=` (`true` is total_count alone; unknown names are ignored)."""
    names = ["total_count"] if asked.lower() in ("true", "1") else [n.strip() for n in asked.split(",")]
    languages = {doc["language"] for doc in documents}
    by_name: dict[str, set[str]] = {}
    for doc in documents:
        by_name.setdefault(doc["name"], set()).add(doc["language"])
    values = {
        "total_count": len(listed),
        "message_template_count": len(by_name),
        "message_template_limit": MAX_TEMPLATES,
        # Our reading of "the status for template translations": every name in every language used.
        "are_translations_complete": all(found == languages for found in by_name.values()),
    }
    return {name: values[name] for name in _SUMMARY if name in names}


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
