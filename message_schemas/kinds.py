"""The message types of the standard and how they answer each other (PROTOCOL §3): the one
place every part (the gateway's lifecycle, the county client, the workbook) reads them from."""

from __future__ import annotations

from typing import Final

MESSAGE_TYPES: Final = (
    "notification",
    "feedback",
    "query",
    "query_reply",
    "assist_request",
    "assist_reply",
)
REQUEST_TYPES: Final = frozenset({"notification", "query", "assist_request"})
# reply type → the request type it answers
REPLY_TYPES: Final = {
    "feedback": "notification",
    "query_reply": "query",
    "assist_reply": "assist_request",
}
# request type → the reply type that answers it
ANSWER_OF: Final = {request: reply for reply, request in REPLY_TYPES.items()}
