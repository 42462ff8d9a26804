"""The JSON error of the admin API and the MCP URLs: `{"error": {"code": ..., "message": ...}}`, never a trace."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def unauthorized(message: str) -> JSONResponse:
    return error_response(401, "unauthorized", message, {"www-authenticate": "Bearer"})
