"""What the agent reads when background work fails: the job in words (the sentence for the error
itself is backends.errors.error_sentence)."""

from __future__ import annotations

WORKER_JOBS = {
    "events": "Receiving messages",
    "changes": "Following the store's changes",
    "send": "Sending",
    "inbox-load": "Loading the inbox",
    "search": "The search",
    "template-sync": "Fetching the templates",
    "draft": "Saving the draft",
    "retry": "The retry",
    "media": "The file",
    "read": "Marking the conversation read",
    "alerts": "The alerts",
}
"""Worker groups (the `group=` of every `@work` and `run_worker`) as the agent would name the job."""
