"""A tool call's validated arguments -> the HTTP request Stripe expects; nothing is sent here.

Arguments that cannot be sent (an id that would change the path, a file that is not base64, a bad
cursor or idempotency key) raise InvalidArgument before any request exists.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from stripe_mcp.stripe_api.encoding import encode_params, form_encode
from stripe_mcp.stripe_api.pagination import page_query
from stripe_mcp.stripe_api.types import InvalidArgument, ToolModule

# Arguments the tools add that are not Stripe parameters: the page cursor (pagination.py) and the
# Idempotency-Key header's value.
SPECIAL_ARGUMENTS = frozenset({"next_cursor", "idempotency_key"})
MAX_IDEMPOTENCY_KEY_LENGTH = 255
# Leading bytes of the file types Stripe's file upload accepts most often; anything else
# goes up as an octet stream, as the SDK does.
_FILE_SIGNATURES = (
    (b"%PDF", "upload.pdf", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "upload.png", "image/png"),
    (b"\xff\xd8\xff", "upload.jpg", "image/jpeg"),
    (b"GIF8", "upload.gif", "image/gif"),
)


@dataclass(frozen=True)
class OutgoingRequest:
    method: str
    url: str  # absolute, query string included
    query: list[tuple[str, str]]
    body: bytes | None
    content_type: str | None


def build_request(tool: ToolModule, arguments: Mapping[str, Any], *, base_url: str) -> OutgoingRequest:
    url = base_url.rstrip("/") + _fill_path(tool, arguments)
    query = encode_params(page_query(tool, arguments, _pick(arguments, tool.QUERY_ARGUMENTS)))
    if query:
        url += "?" + form_encode(query)
    body, content_type = _body(tool, arguments)
    return OutgoingRequest(tool.HTTP_METHOD.upper(), url, query, body, content_type)


def idempotency_key_for(method: str, given: Any) -> str | None:
    """The Idempotency-Key of a POST: the one given, else a fresh one, so that a retry is safe to make."""
    if method != "POST":
        return None
    if given is None:
        return str(uuid.uuid4())
    if not isinstance(given, str) or not given or len(given) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise InvalidArgument("idempotency_key", f"must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
    if any(_is_control(char) for char in given) or not given.isascii():
        raise InvalidArgument("idempotency_key", "must be printable ASCII")
    return given


# --- the path ------------------------------------------------------------------------


def _fill_path(tool: ToolModule, arguments: Mapping[str, Any]) -> str:
    path = tool.PATH
    for argument, placeholder in tool.PATH_ARGUMENTS.items():
        value = arguments.get(argument)
        if value is None:
            raise InvalidArgument(argument, "is required")
        path = path.replace("{" + placeholder + "}", quote(_check_id(argument, value), safe=""))
    return path


def _check_id(argument: str, value: Any) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InvalidArgument(argument, "must be a string")
    text = str(value)
    if not text:
        raise InvalidArgument(argument, "must not be empty")
    if text == "." or ".." in text or "/" in text or "\\" in text:
        raise InvalidArgument(argument, "must not contain '/', '\\' or '..'")
    if any(_is_control(char) or 0xD800 <= ord(char) <= 0xDFFF for char in text):
        raise InvalidArgument(argument, "must not contain control characters or lone surrogates")
    return text


def _is_control(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F


# --- the body ------------------------------------------------------------------------


def _pick(arguments: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    wanted = set(names) - SPECIAL_ARGUMENTS
    return {name: value for name, value in arguments.items() if name in wanted}


def _body(tool: ToolModule, arguments: Mapping[str, Any]) -> tuple[bytes | None, str | None]:
    if tool.HTTP_METHOD.upper() != "POST":
        return None, None
    params = _pick(arguments, tool.BODY_ARGUMENTS)
    if tool.BODY_ENCODING == "multipart":
        return _multipart_body(params)
    return form_encode(encode_params(params)).encode("ascii"), "application/x-www-form-urlencoded"


def _multipart_body(params: dict[str, Any]) -> tuple[bytes, str]:
    """multipart/form-data (RFC 7578): one part per form field, then the file."""
    content = _decode_file(params.pop("file", None))
    boundary = secrets.token_hex(16)  # random: the chance that it occurs in the content is nil
    parts = [_part(boundary, name, b"", value.encode("utf-8")) for name, value in encode_params(params)]
    if content is not None:
        filename, data, content_type = _file_part(content)
        parts.append(_part(boundary, "file", f'; filename="{filename}"'.encode(), data, content_type))
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _part(boundary: str, name: str, extra: bytes, data: bytes, content_type: str | None = None) -> bytes:
    # HTML's escaping of a field name: the quote and line breaks as percent-escapes.
    quoted = name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A").encode("utf-8")
    head = b"--" + boundary.encode() + b'\r\nContent-Disposition: form-data; name="' + quoted + b'"' + extra
    if content_type is not None:
        head += b"\r\nContent-Type: " + content_type.encode()
    return head + b"\r\n\r\n" + data + b"\r\n"


def _decode_file(value: Any) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgument("file", "must be the file's content as base64 text")
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument("file", "is not valid base64") from None


def _file_part(content: bytes) -> tuple[str, bytes, str]:
    for signature, filename, content_type in _FILE_SIGNATURES:
        if content.startswith(signature):
            return filename, content, content_type
    return "blob", content, "application/octet-stream"
