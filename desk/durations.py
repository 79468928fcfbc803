"""Short durations for narrow columns: "0m", "12m", "1h05m", "3d4h".

Minute resolution, rounded down (a countdown that shows "0m" in its last minute, like a kitchen
timer); days drop the minutes because nobody needs them at that range.
"""

from __future__ import annotations

from datetime import timedelta

_MINUTE = timedelta(minutes=1)


def short_duration(td: timedelta) -> str:
    """`td` in at most a few characters; a negative duration reads as "0m"."""
    minutes = max(0, td // _MINUTE)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m"
