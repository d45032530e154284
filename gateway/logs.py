"""Structured logs: one JSON object per line, with the ids that matter (message_id, node,
attempt, status) passed as fields — never names, ID numbers or message content.

Modules log with the standard library (``logging.getLogger("gateway.…")`` and ``extra={…}``);
structlog's ProcessorFormatter renders those records, so third-party logs (uvicorn, SQLAlchemy)
come out in the same format.
"""

from __future__ import annotations

import logging

import structlog

# Libraries that write request URLs at INFO/DEBUG ("HTTP Request: POST http://user:pw@…?apikey=…"):
# a push endpoint may carry credentials in its userinfo or query, so they log warnings only.
# The worker's own "delivery attempt" line names the node, never the URL.
URL_LOGGERS = ("httpx", "httpcore")


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    shared: list[structlog.types.Processor] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in URL_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
