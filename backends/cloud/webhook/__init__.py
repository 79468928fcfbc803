"""WhatsApp webhook bodies -> domain events. Pure: no I/O, no clock (the caller gives `now`), and it
never raises.

Facts from ../shared/reference/whatsapp-cloud-api.md: §6.3 (envelope), §6.4 (inbound messages),
§6.5 (statuses), §6.6 (errors), §4.2 (template statuses), §11 (BSUIDs and usernames).

Why it never raises: the HTTP handler must answer 200 quickly whatever arrives, because Meta retries
anything else for up to 7 days (§6.7) and one bad message would hold back every good one in the same
body. So each part (entry, change, message, status) is read on its own; a part that cannot be
understood is logged, counted in `Parsed.skipped`, and the rest is still parsed. A message is either
complete (id, sender, timestamp: what the store needs to keep it exactly once) or not produced at
all. Logs name ids and reasons, never what a customer wrote. JSON that orjson refuses but the
standard library reads (a lone surrogate escape in a name) is still parsed, the bad string
neutralised (backends/cloud/jsonload.py).

A timestamp more than FUTURE_LIMIT after `now` (a sender's clock set wrong, or a forged date) is
taken as `now` and flagged: a warning in the log, and for a message a note before its text giving
the date it claimed. A message dated year 3000 would otherwise hold its 24-hour window open for
ever (desk/window.py counts a future time as now, every time it looks).

Usage:

    parsed = parse_body(raw_request_bytes, now)  # or parse_webhook(already_decoded_dict, now)
    store.apply_many(parsed.events)             # MessageReceived and StatusChanged, payload order
    parsed.template_updates, parsed.problems    # for the template catalogue and the status bar

The parts, one job each: envelope.py walks the body (entries, changes, a handler per field);
messages.py reads one message and message_types.py what each type carries; statuses.py,
template_updates.py and problems.py the rest; collect.py gathers what comes out (results.py),
with the safety net per part; untrusted.py reads every JSON value.

Not supported yet, and counted as skipped: groups (group_* fields, messages carrying `group_id`,
statuses with `recipient_type: "group"`) — turning a group message into a private conversation would
make an agent answer one member privately — and every subscribed field other than `messages`,
`message_template_status_update` and the account-level restrictions of `account_update`.
"""

from backends.cloud.webhook.collect import FUTURE_LIMIT
from backends.cloud.webhook.envelope import parse_body, parse_webhook
from backends.cloud.webhook.results import Parsed, Problem, TemplateUpdate

__all__ = ["FUTURE_LIMIT", "Parsed", "Problem", "TemplateUpdate", "parse_body", "parse_webhook"]
