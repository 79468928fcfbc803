"""The Textual app. Textual is imported only below this package (desk/ and backends/ never do)."""

import os

# Textual paints at most MAX_FPS frames a second, from a timer: a key waits up to one period for
# its frame. At the default 60 that made the inbox cursor's p95 key-to-frame 18.8 ms; at 120 it is
# 11.5 ms (bench/cursor.py, 10k rows). Frames are only drawn when something changed, so an idle desk
# costs nothing more. Set before Textual is first imported; a user's own TEXTUAL_FPS wins.
os.environ.setdefault("TEXTUAL_FPS", "120")
