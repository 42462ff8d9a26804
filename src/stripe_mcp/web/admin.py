"""The admin API: integrated accounts, their MCP servers, API tokens. JSON in, JSON out, 4xx on bad input."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from stripe_mcp.managed import service
from stripe_mcp.managed.secrets import MissingEncryptionKey
from stripe_mcp.managed.store.base import AccountRecord, ServerRecord
from stripe_mcp.tools.filters import KINDS, METHOD_GROUPS, PolicyError

MAX_BODY_BYTES = 64 * 1024

Method = Literal["read", "write", "get", "list", "search", "create", "update", "delete", "custom"]
assert set(Method.__args__) == set(METHOD_GROUPS) | set(KINDS)  # type: ignore[attr-defined]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


NAME = r"^[^\x00-\x1f\x7f]+$"  # printable: names end up in pages, logs and serverInfo


class AccountIn(Strict):
    name: str = Field(min_length=1, max_length=200, pattern=NAME)
    stripe_api_key: str = Field(min_length=8, max_length=500, pattern=r"^(sk|rk)_(test|live)_[A-Za-z0-9_]+$")


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
    stripe_account: str | None = Field(
        default=None,
        pattern=r"^acct_[A-Za-z0-9]{1,64}$",
        description="A Connect platform's connected account: every call carries Stripe-Account with it.",
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
    url: str | None = Field(default=None, description="Only in the creation response: the token is shown once.")
    warnings: list[str] = Field(default_factory=list)
    last_used_at: datetime | None = Field(default=None, description="When a tool was last called through this server.")
    calls_24h: int = Field(default=0, description="Tool calls in the last 24 hours (hourly buckets).")


class ApiTokenIn(Strict):
    admin: StrictBool = Field(default=False, description="The token may also sign in to the admin console at /admin.")


class ApiTokenOut(BaseModel):
    id: str
    token: str


class ErrorOut(BaseModel):
    error: dict[str, str]


class AdminError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _when(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, tz=UTC)


def account_out(record: AccountRecord) -> dict[str, Any]:
    return AccountOut(
        id=record.id, name=record.name, stripe_api_key_hint=record.key_hint, created_at=_when(record.created_at)
    ).model_dump(mode="json")


def server_out(
    runtime: Any, record: ServerRecord, url: str | None = None, usage: service.ServerUsage | None = None
) -> dict[str, Any]:
    tools = service.server_tools(runtime.registry, record.config)
    usage = usage or service.ServerUsage(None, 0)
    return ServerOut(
        id=record.id,
        name=record.name,
        config=ServerConfigIn(**record.config),
        expires_at=_when(record.expires_at),
        created_at=_when(record.created_at),
        tool_count=len(tools.tool_names),
        url=url,
        warnings=list(tools.warnings),
        last_used_at=_when(usage.last_used_at),
        calls_24h=usage.calls_24h,
    ).model_dump(mode="json", exclude_none=False)


class AdminApi:
    def __init__(self, runtime_of: Callable[[], Any], admin_token: str | None) -> None:
        self.runtime_of = runtime_of
        self.admin_token = admin_token

    def routes(self) -> list[Route]:
        return [
            Route("/openapi.json", self.openapi, methods=["GET"]),
            self._route("/integrated-account", POST=self.create_account, GET=self.list_accounts),
            self._route("/integrated-account/{account_id}", DELETE=self.delete_account),
            self._route("/integrated-account/{account_id}/mcp", POST=self.create_server, GET=self.list_servers),
            self._route("/integrated-account/{account_id}/mcp/{server_id}", DELETE=self.revoke_server),
            self._route("/api-token", POST=self.create_api_token),
        ]

    def _route(self, path: str, **handlers: Callable[[Request], Awaitable[Response]]) -> Route:
        """One route per path, so that a 405 lists every method the path has in its Allow header."""
        guarded = {method: self._guard(handler) for method, handler in handlers.items()}

        async def endpoint(request: Request) -> Response:
            return await guarded[request.method](request)

        return Route(path, endpoint, methods=list(handlers))

    def _guard(self, handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            if not self.admin_token:
                return error_response(
                    403, "admin_disabled", "the admin API is closed: set STRIPE_MCP_ADMIN_TOKEN to open it"
                )
            scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                credentials.strip().encode(), self.admin_token.encode()
            ):
                return JSONResponse(
                    {"error": {"code": "unauthorized", "message": "send Authorization: Bearer <admin token>"}},
                    status_code=401,
                    headers={"www-authenticate": "Bearer"},
                )
            try:
                return await handler(request)
            except AdminError as error:
                return error_response(error.status, error.code, error.message)

        return guarded

    async def _body(self, request: Request, model: type[BaseModel]) -> Any:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise AdminError(413, "body_too_large", f"the body is over {MAX_BODY_BYTES} bytes")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise AdminError(413, "body_too_large", f"the body is over {MAX_BODY_BYTES} bytes")
        if "json" not in request.headers.get("content-type", "application/json"):
            raise AdminError(415, "unsupported_media_type", "send the body as application/json")
        try:
            return model.model_validate_json(body or b"{}")
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in item['loc']) or 'body'}: {item['msg']}"
                for item in error.errors(include_url=False, include_input=False)
            )
            raise AdminError(400, "invalid_request", problems) from None

    async def _account(self, account_id: str) -> AccountRecord:
        account = await self.runtime_of().store.get_account(account_id)
        if account is None:
            raise AdminError(404, "not_found", f"no integrated account {account_id[:64]}")
        return account

    async def create_account(self, request: Request) -> Response:
        body: AccountIn = await self._body(request, AccountIn)
        runtime = self.runtime_of()
        try:
            record = await service.create_account(runtime.store, runtime.keys, body.name, body.stripe_api_key)
        except MissingEncryptionKey as error:
            raise AdminError(503, "encryption_key_missing", str(error)) from None
        return JSONResponse({"id": record.id, "name": record.name}, status_code=201)

    async def list_accounts(self, request: Request) -> Response:
        accounts = await self.runtime_of().store.list_accounts()
        return JSONResponse({"data": [account_out(a) for a in accounts]})

    async def delete_account(self, request: Request) -> Response:
        account = await self._account(request.path_params["account_id"])
        runtime = self.runtime_of()
        await service.delete_account(runtime.store, account.id, runtime.forget_servers)
        return Response(status_code=204)

    async def create_server(self, request: Request) -> Response:
        account = await self._account(request.path_params["account_id"])
        body: ServerIn = await self._body(request, ServerIn)
        if body.expires_at is not None and body.expires_at.tzinfo is None:
            raise AdminError(400, "invalid_request", "expires_at: give a time zone, e.g. 2026-12-01T00:00:00Z")
        runtime = self.runtime_of()
        try:
            created = await service.create_server(
                runtime.store,
                runtime.registry,
                account.id,
                body.name,
                body.config.model_dump(),
                body.expires_at.timestamp() if body.expires_at else None,
                now=runtime.clock(),
            )
        except PolicyError as error:
            raise AdminError(400, "invalid_config", str(error)) from None
        return JSONResponse(server_out(runtime, created.record, runtime.mcp_url(created.token)), status_code=201)

    async def list_servers(self, request: Request) -> Response:
        account = await self._account(request.path_params["account_id"])
        runtime = self.runtime_of()
        now = runtime.clock()
        servers = await service.list_servers(runtime.store, account.id, now)
        data = [server_out(runtime, s, usage=await service.server_usage(runtime.store, s.id, now)) for s in servers]
        return JSONResponse({"data": data})

    async def revoke_server(self, request: Request) -> Response:
        account = await self._account(request.path_params["account_id"])
        runtime = self.runtime_of()
        if not await service.revoke_server(
            runtime.store, account.id, request.path_params["server_id"], runtime.forget_servers
        ):
            raise AdminError(404, "not_found", "no such MCP server on this account")
        return Response(status_code=204)

    async def create_api_token(self, request: Request) -> Response:
        body: ApiTokenIn = await self._body(request, ApiTokenIn)
        record, token = await service.create_api_token(self.runtime_of().store, admin=body.admin)
        return JSONResponse(ApiTokenOut(id=record.id, token=token).model_dump(), status_code=201)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document())


def openapi_document() -> dict[str, Any]:
    """The admin API described from the same pydantic models that validate it."""
    schemas: dict[str, Any] = {}
    for model in (AccountIn, AccountOut, ServerIn, ServerOut, ApiTokenIn, ApiTokenOut, ErrorOut):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema

    def ref(name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}

    def answer(status: str, name: str | None, description: str) -> dict[str, Any]:
        body = {"content": {"application/json": {"schema": ref(name)}}} if name else {}
        return {status: {"description": description, **body}}

    errors = {
        **answer("400", "ErrorOut", "Invalid input"),
        **answer("401", "ErrorOut", "Missing or wrong admin token"),
        **answer("403", "ErrorOut", "Admin API closed"),
        **answer("404", "ErrorOut", "Not found"),
        **answer("413", "ErrorOut", "Body too large"),
        **answer("415", "ErrorOut", "Not JSON"),
    }
    account_id = {"name": "account_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
    server_id = {"name": "server_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
    listing = lambda name: {"type": "object", "properties": {"data": {"type": "array", "items": ref(name)}}}  # noqa: E731
    return {
        "openapi": "3.1.0",
        "info": {"title": "stripe-mcp admin API", "version": "1"},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"admin": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"admin": []}],
        "paths": {
            "/integrated-account": {
                "post": {
                    "operationId": "createIntegratedAccount",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": ref("AccountIn")}}},
                    "responses": {**answer("201", None, "Created: {id, name}"), **errors},
                },
                "get": {
                    "operationId": "listIntegratedAccounts",
                    "responses": {
                        "200": {
                            "description": "Accounts",
                            "content": {"application/json": {"schema": listing("AccountOut")}},
                        },
                        **errors,
                    },
                },
            },
            "/integrated-account/{account_id}": {
                "delete": {
                    "operationId": "deleteIntegratedAccount",
                    "parameters": [account_id],
                    "responses": {"204": {"description": "Deleted with its servers"}, **errors},
                },
            },
            "/integrated-account/{account_id}/mcp": {
                "post": {
                    "operationId": "createMcpServer",
                    "parameters": [account_id],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": ref("ServerIn")}}},
                    "responses": {**answer("201", "ServerOut", "Created; url holds the token, shown once"), **errors},
                },
                "get": {
                    "operationId": "listMcpServers",
                    "parameters": [account_id],
                    "responses": {
                        "200": {
                            "description": "Servers (never tokens)",
                            "content": {"application/json": {"schema": listing("ServerOut")}},
                        },
                        **errors,
                    },
                },
            },
            "/integrated-account/{account_id}/mcp/{server_id}": {
                "delete": {
                    "operationId": "revokeMcpServer",
                    "parameters": [account_id, server_id],
                    "responses": {"204": {"description": "Revoked at once"}, **errors},
                },
            },
            "/api-token": {
                "post": {
                    "operationId": "createApiToken",
                    "requestBody": {"required": False, "content": {"application/json": {"schema": ref("ApiTokenIn")}}},
                    "responses": {**answer("201", "ApiTokenOut", "Created; shown once"), **errors},
                },
            },
        },
    }
