"""The log file: under the platform's log dir, never stdout (the app owns the terminal), and
bounded in size.

An attacker can make the receiver log on every request (a bad signature, a connection at the
file-descriptor limit: 42,000 lines and 18 MB in 17 s were measured before the receiver rate-limited
its own logs), so the file rotates at LOG_BYTES, keeping LOG_BACKUPS old copies: at most 4 x 5 MB.
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

import platformdirs

LOG_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir("wadesk", appauthor=False))


def log_path() -> Path:
    return log_dir() / "wadesk.log"


def log_to_file(path: Path | None = None) -> RotatingFileHandler:
    """Send INFO and above to the rotating log file; `stop_logging(handler)` undoes it."""
    path = path or log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)
    return handler


def stop_logging(handler: logging.Handler) -> None:
    logging.getLogger().removeHandler(handler)
    handler.close()
