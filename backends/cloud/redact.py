"""No log line holds a URL's query: a signed media URL carries its signature there (valid for
minutes to anyone who also holds the token). `without_query` is what our own log lines show of a
URL; the filter below does the same to httpx's own request log."""

from __future__ import annotations

import logging
import re

import httpx


def without_query(url: str) -> str:
    """The URL without its query: media URLs carry signatures, and nothing else is needed."""
    return str(httpx.URL(url).copy_with(query=None, fragment=None))


_URL_WITH_QUERY = re.compile(r"(https?://[^\s?#\"']*)[?#][^\s\"']*")


class _NoQuery(logging.Filter):
    """httpx logs each request at INFO with its whole URL ("HTTP Request: GET https://...?oh=<sig>"):
    the record's URL arguments lose their query before any handler sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _URL_WITH_QUERY.sub(r"\1", str(arg)) if isinstance(arg, (httpx.URL, str)) else arg for arg in record.args
            )
        if isinstance(record.msg, str) and "://" in record.msg:
            record.msg = _URL_WITH_QUERY.sub(r"\1", record.msg)
        return True


logging.getLogger("httpx").addFilter(_NoQuery())
