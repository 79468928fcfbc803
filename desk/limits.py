"""WhatsApp's limits on what we send: the one home of each number.

The composer refuses a reply over `TEXT_MAX` before anything leaves, and the mock answers one with
error 100 as WhatsApp does (../shared/reference/whatsapp-cloud-api.md §2: a text body of at most 4096 characters).
Characters are counted as Python counts them (code points), as the mock does.
"""

from __future__ import annotations

TEXT_MAX = 4096
"""The longest free-text body WhatsApp accepts, in characters."""
