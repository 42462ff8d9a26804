"""The JSON error of the admin API and the MCP URLs: `{"error": {"code": ..., "message": ...}}`, never a trace."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

HTTP_ERROR_CODES = {404: "not_found", 405: "method_not_allowed"}


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def unauthorized(message: str) -> JSONResponse:
    return error_response(401, "unauthorized", message, {"www-authenticate": "Bearer"})


async def http_exception(request: Request, exc: Exception) -> Response:
    """The router's own answers (no such path, a method the path lacks) in the same JSON as every other error."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        message = f"{request.method[:16]} is not a method of {request.url.path[:200]}"
    elif exc.status_code == 404:
        message = f"nothing at {request.url.path[:200]}"
    else:
        message = str(exc.detail)[:200]
    return error_response(exc.status_code, HTTP_ERROR_CODES.get(exc.status_code, "http_error"), message, exc.headers)
