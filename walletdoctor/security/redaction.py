"""A safety net for logs: any API key in a log record is replaced before it is written.

The security code logs only ``key_id``\\ s (DESIGN section 5). Other code can
still leak a key by accident: aiohttp's access log writes the request line,
query string included (``GET /v4/...?api_key=wd_... HTTP/1.1``), and an
exception's text may quote a URL. Because every key has a distinctive shape
(``wd_`` + 32 URL-safe characters), a logging filter on the output handlers
can find and replace them all, whatever logger the record came from.

Attach :class:`KeyRedactingFilter` to each **handler** (filters on a logger
see only the records logged on that logger itself, not those propagated
from its children; Python ``logging`` docs, "Filter Objects")::

    handler.addFilter(KeyRedactingFilter())
"""

from __future__ import annotations

import logging
import re

__all__ = ["REDACTED", "KeyRedactingFilter", "redact_keys"]

#: What a key is replaced with.
REDACTED = "wd_[redacted]"

# A key anywhere in text: not preceded or followed by another key character,
# so that longer tokens that merely contain "wd_" are left alone.
_KEY_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_-])wd_[A-Za-z0-9_-]{32}(?![A-Za-z0-9_-])")


def redact_keys(text: str) -> str:
    """``text`` with every API key (``wd_`` + 32 URL-safe characters) replaced by :data:`REDACTED`."""
    return _KEY_IN_TEXT.sub(REDACTED, text)


class KeyRedactingFilter(logging.Filter):
    """Rewrites each record so that its message, and its traceback text, hold no API key.

    The message is formatted once here (``msg % args``) and stored back with
    no arguments, so the handler's formatter writes the redacted text. The
    traceback is formatted here too and kept in ``exc_text``, which
    :class:`logging.Formatter` uses instead of formatting ``exc_info`` again.
    Records are never dropped: :meth:`filter` always returns ``True``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_keys(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_keys(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_keys(record.stack_info)
        return True
