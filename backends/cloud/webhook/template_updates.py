"""Template review updates (§4.2): approved, rejected, paused, disabled..., with the reason given."""

from __future__ import annotations

from typing import Any

from backends.cloud.webhook.collect import Collector
from backends.cloud.webhook.results import TemplateUpdate
from backends.cloud.webhook.untrusted import as_dict, as_ident, as_str


def template_status_change(out: Collector, entry: dict[str, Any], value: dict[str, Any]) -> None:
    """Field `message_template_status_update` (§4.2): one template's review status."""
    name = as_ident(value.get("message_template_name"))
    status = as_ident(value.get("event"))
    if name is None or status is None:
        out.malformed("a template status update without a name or an event")
        return
    language = as_ident(value.get("message_template_language")) or ""
    out.template_updates.append(
        TemplateUpdate(
            template_id=as_ident(value.get("message_template_id")) or "",
            name=name,
            language=language.replace("-", "_"),
            status=status,
            reason=_template_reason(value),
            at=out.when(entry.get("time"), f"template {name} update")[0],
        )
    )


def _template_reason(value: dict[str, Any]) -> str | None:
    """The reason, or for a rejection without one the recommendation, or for a pause its
    description. Meta says "NONE" when there is no reason: that is None here."""
    reason = as_str(value.get("reason"))
    if reason is not None and reason.upper() == "NONE":
        reason = None
    rejection = as_dict(value.get("rejection_info")) or {}
    other = as_dict(value.get("other_info")) or {}
    candidates = (
        reason,
        as_str(rejection.get("reason")),
        as_str(rejection.get("recommendation")),
        as_str(other.get("description")),
        as_str(other.get("title")),
    )
    return next((c for c in candidates if c), None)

