"""Where the OAuth endpoints are, the two metadata documents that tell clients so, and the 401 that points to them."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from stripe_mcp.managed.oauth import SCOPE, DocumentPolicy
from stripe_mcp.web.errors import error_response

PROTECTED_RESOURCE = "/.well-known/oauth-protected-resource"  # + the server's path, /mcp/<id> (RFC 9728 3.1)
AUTHORIZATION_SERVER = "/.well-known/oauth-authorization-server"
AUTHORIZE, TOKEN, REGISTER, REVOKE = "/oauth/authorize", "/oauth/token", "/oauth/register", "/oauth/revoke"
AUTH_METHODS = ["none", "client_secret_post", "client_secret_basic"]


def issuer(public_url: str) -> str:
    return public_url.rstrip("/")


def resource_metadata_url(public_url: str, server_id: str) -> str:
    return f"{issuer(public_url)}{PROTECTED_RESOURCE}/mcp/{server_id}"


def protected_resource_metadata(public_url: str, resource: str) -> dict[str, Any]:
    return {
        "resource": resource,
        "authorization_servers": [issuer(public_url)],
        "scopes_supported": [SCOPE],
        "bearer_methods_supported": ["header"],
    }


def authorization_server_metadata(public_url: str, documents: DocumentPolicy) -> dict[str, Any]:
    base = issuer(public_url)
    return {
        "issuer": base,
        "authorization_endpoint": base + AUTHORIZE,
        "token_endpoint": base + TOKEN,
        "registration_endpoint": base + REGISTER,
        "revocation_endpoint": base + REVOKE,
        "scopes_supported": [SCOPE],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "client_id_metadata_document_supported": documents is not DocumentPolicy.OFF,
    }


def bearer_challenge(public_url: str, server_id: str, *, invalid_token: bool) -> JSONResponse:
    """The 401 of an OAuth server's MCP URL without a valid access token: WWW-Authenticate names its metadata."""
    header = f'Bearer resource_metadata="{resource_metadata_url(public_url, server_id)}", scope="{SCOPE}"'
    if invalid_token:
        header += ', error="invalid_token", error_description="the access token is invalid, expired or revoked"'
        message = "the access token is invalid, expired or revoked for this MCP server: authorize again"
    else:
        message = "this MCP server needs an OAuth access token: Authorization: Bearer <access token>"
    return error_response(401, "unauthorized", message, {"www-authenticate": header})
