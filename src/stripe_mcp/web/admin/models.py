"""What the admin API accepts and answers, as pydantic models; the console validates its forms with them too."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from stripe_mcp.managed import service
from stripe_mcp.managed.approvals import Listed
from stripe_mcp.managed.oauth.connections import Connection
from stripe_mcp.managed.store.base import AccountRecord, ApiTokenRecord, ServerRecord
from stripe_mcp.managed.times import utc
from stripe_mcp.tools.filters import KINDS, METHOD_GROUPS
from stripe_mcp.tools.registry import Registry

Method = Literal["read", "write", "get", "list", "search", "create", "update", "delete", "custom"]
assert set(Method.__args__) == set(METHOD_GROUPS) | set(KINDS)  # type: ignore[attr-defined]

NAME = r"^[^\x00-\x1f\x7f]+$"  # printable: names end up in pages, logs and serverInfo


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AccountIn(Strict):
    name: str = Field(min_length=1, max_length=200, pattern=NAME)
    stripe_api_key: str = Field(min_length=8, max_length=500, pattern=f"^{service.STRIPE_KEY.pattern}$")


class AccountOut(BaseModel):
    id: str
    name: str
    stripe_api_key_hint: str
    created_at: datetime


class ServerConfigIn(Strict):
    methods: list[Method] = Field(default_factory=list, max_length=9)
    tags: list[str] = Field(default_factory=list, max_length=50)
    require_api_token_auth: StrictBool = False
    tool_exposure: Literal["all", "discovery", "chatgpt"] = "all"
    full_results: StrictBool = Field(default=False, description="Keep null fields and empty collections in results.")
    auth: Literal["url_token", "oauth"] = Field(
        default="url_token",
        description="url_token: the URL holds a secret token (shown once). oauth: the URL holds no secret; "
        "clients connect with OAuth 2.1 and a person's consent in the console.",
    )
    stripe_account: str | None = Field(
        default=None,
        pattern=f"^{service.STRIPE_ACCOUNT.pattern}$",
        description="A Connect platform's connected account: every call carries Stripe-Account with it.",
    )
    approval: Literal["none", "destructive", "writes"] = Field(
        default="none",
        description="Calls that reach Stripe only after a person said yes: destructive tools, every write, or none.",
    )


class ServerIn(Strict):
    name: str = Field(min_length=1, max_length=200, pattern=NAME)
    config: ServerConfigIn = Field(default_factory=ServerConfigIn)
    expires_at: datetime | None = None


class ServerOut(BaseModel):
    id: str
    name: str
    config: ServerConfigIn
    expires_at: datetime | None
    created_at: datetime
    tool_count: int
    url: str | None = Field(
        default=None,
        description="A url_token server's URL only in the creation response (its token is shown once); an OAuth server's always.",
    )
    warnings: list[str] = Field(default_factory=list)
    last_used_at: datetime | None = Field(default=None, description="When a tool was last called through this server.")
    calls_24h: int = Field(default=0, description="Tool calls in the last 24 hours (hourly buckets).")


class ApiTokenIn(Strict):
    admin: StrictBool = Field(default=False, description="The token may also sign in to the admin console at /admin.")
    account_id: str | None = Field(
        default=None,
        max_length=64,
        description="Only this account's servers accept the token (it cannot be an admin token then).",
    )
    expires_at: datetime | None = Field(default=None, description="Refused from then on; at least 60 s ahead.")


class ApiTokenOut(BaseModel):
    id: str
    token: str


class OAuthClientOut(BaseModel):
    client_id: str
    client_name: str
    redirect_uris: list[str]
    first_seen_at: datetime | None
    connected_at: datetime
    last_used_at: datetime | None = Field(description="The latest MCP request with one of its access tokens.")


class ApiTokenInfo(BaseModel):
    """A listed API token: never the token itself."""

    id: str
    admin: bool
    account_id: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description="When a request last carried it (to the minute), if ever.")


class ApprovalOut(BaseModel):
    id: str
    server_id: str
    tool: str
    arguments: dict[str, Any] = Field(description="Exactly what is sent to Stripe once approved.")
    question: str = Field(description="The sentence a person answers.")
    livemode: bool
    status: Literal["pending", "approved", "denied", "expired", "executing", "executed"]
    asked_via: Literal["console", "elicitation"]
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    executed_at: datetime | None
    request_id: str | None = Field(description="Stripe's Request-Id of the approved call, once it ran.")
    upstream_status: int | None


class ErrorOut(BaseModel):
    error: dict[str, str]


def _when(timestamp: float) -> datetime:
    return utc(timestamp)  # clamped: a bad stored time never fails a list


def _maybe_when(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else _when(timestamp)


def account_out(record: AccountRecord) -> dict[str, Any]:
    return AccountOut(
        id=record.id, name=record.name, stripe_api_key_hint=record.key_hint, created_at=_when(record.created_at)
    ).model_dump(mode="json")


def oauth_client_out(connection: Connection) -> dict[str, Any]:
    return OAuthClientOut(
        client_id=connection.client_id,
        client_name=connection.name,
        redirect_uris=list(connection.redirect_uris),
        first_seen_at=_maybe_when(connection.first_seen_at),
        connected_at=_when(connection.connected_at),
        last_used_at=_maybe_when(connection.last_used_at),
    ).model_dump(mode="json")


def api_token_out(record: ApiTokenRecord) -> dict[str, Any]:
    return ApiTokenInfo(
        id=record.id,
        admin=record.admin,
        account_id=record.account_id,
        created_at=_when(record.created_at),
        expires_at=_maybe_when(record.expires_at),
        last_used_at=_maybe_when(record.last_used_at),
    ).model_dump(mode="json")


def server_out(
    registry: Registry, record: ServerRecord, url: str | None = None, usage: service.ServerUsage | None = None
) -> dict[str, Any]:
    tools = service.server_tools(registry, record.config)
    usage = usage or service.ServerUsage(None, 0)
    return ServerOut(
        id=record.id,
        name=record.name,
        config=ServerConfigIn(**record.config),
        expires_at=_maybe_when(record.expires_at),
        created_at=_when(record.created_at),
        tool_count=len(tools.tool_names),
        url=url,
        warnings=list(tools.warnings),
        last_used_at=_maybe_when(usage.last_used_at),
        calls_24h=usage.calls_24h,
    ).model_dump(mode="json", exclude_none=False)


def approval_out(listed: Listed) -> dict[str, Any]:
    a = listed.approval
    return ApprovalOut.model_validate(
        {
            "id": a.id,
            "server_id": a.server_id,
            "tool": a.tool,
            "arguments": a.arguments,
            "question": a.question,
            "livemode": a.livemode,
            "status": listed.status,
            "asked_via": a.asked_via,
            "created_at": _when(a.created_at),
            "expires_at": _when(a.expires_at),
            "decided_at": _maybe_when(a.decided_at),
            "decided_by": a.decided_by,
            "executed_at": _maybe_when(a.executed_at),
            "request_id": a.request_id,
            "upstream_status": a.upstream_status,
        }
    ).model_dump(mode="json")
