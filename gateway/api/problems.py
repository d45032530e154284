"""RFC 9457 problem+json for every error the HTTP edge can produce, mapped in one place."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from gateway.errors import PROBLEM_BASE, ExchangeError, problem_of, status_of
from message_schemas.errors import dotted
from message_schemas.http import PROBLEM_JSON


def problem_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _exchange_error(request: Request, exc: Exception) -> JSONResponse:
    """Every error of the tree (gateway/errors.py), the service's and the foundation's."""
    assert isinstance(exc, ExchangeError)
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return problem_response(status, problem_of(exc, request.url.path), headers)


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    """Query/path parameter errors from FastAPI, without echoing the input."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": dotted([p for p in err["loc"] if p not in ("query", "path", "body")]),
            "rule": err["type"],
            "message": err["msg"],
        }
        for err in exc.errors()
    ]
    body = {
        "type": PROBLEM_BASE + "invalid-input",
        "title": "Invalid request / 请求无效",
        "status": 422,
        "detail": "request parameters invalid / 请求参数无效",
        "instance": request.url.path,
        "errors": errors,
    }
    return problem_response(422, body)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    body = {
        "type": "about:blank",
        "title": str(exc.detail),
        "status": exc.status_code,
        "instance": request.url.path,
    }
    return problem_response(exc.status_code, body, dict(exc.headers or {}))


async def _client_gone(request: Request, exc: Exception) -> Response:
    # The client hung up while sending its body: nothing was accepted and nobody is
    # listening. Not a server error (499 is nginx's "client closed request").
    return Response(status_code=499)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Never the exception text: it may hold data from the request.
    body = {
        "type": PROBLEM_BASE + "internal",
        "title": "Internal error / 内部错误",
        "status": 500,
        "instance": request.url.path,
    }
    return problem_response(500, body)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ExchangeError, _exchange_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected)
