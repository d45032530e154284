"""Structured logs: one JSON object per line, with the ids that matter (request id, node,
message_id, attempt, status) as fields — never names, ID numbers or message content.

The gateway's modules log through structlog (``get_logger(__name__)``, keyword fields) and bind
the ids of what they are working on with ``structlog.contextvars`` (``bound_contextvars``):
the HTTP edge binds ``request_id`` and the caller's ``node`` for each request, the delivery
worker the ``message_id`` and ``node`` of each attempt, so every line written meanwhile,
by any module, carries them. Third-party loggers (uvicorn, SQLAlchemy) go through the same
formatter, and get the bound ids too. Tests assert on logs with ``structlog.testing.
capture_logs(processors=[merge_contextvars])``.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

# Libraries that write request URLs at INFO/DEBUG ("HTTP Request: POST http://user:pw@…?apikey=…"):
# a push endpoint may carry credentials in its userinfo or query, so they log warnings only.
# The worker's own "delivery attempt" line names the node, never the URL.
URL_LOGGERS = ("httpx", "httpcore")

_SHARED: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(),
    structlog.stdlib.PositionalArgumentsFormatter(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def _route_into_stdlib() -> None:
    """structlog hands every event to the standard library as a plain record (the event as
    the message, the fields as extras), so a process that never configured logging writes
    nothing to stdout (CLI output stays clean JSON) and warnings go to stderr as usual."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.render_to_log_kwargs,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


_route_into_stdlib()


def get_logger(name: str) -> Any:
    """A structlog logger for a module: keyword fields, bound context, stdlib handlers."""
    return structlog.stdlib.get_logger(name)


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    _route_into_stdlib()
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in URL_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
