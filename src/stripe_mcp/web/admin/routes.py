"""The admin API's endpoints: each checks the admin token, validates its body, and calls managed.service."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from stripe_mcp.managed import approvals, service
from stripe_mcp.managed.oauth import connections
from stripe_mcp.managed.secrets import MissingEncryptionKey
from stripe_mcp.managed.store.base import AccountRecord, ServerRecord
from stripe_mcp.managed.times import timestamp_of
from stripe_mcp.tools.filters import PolicyError
from stripe_mcp.web.admin.models import (
    AccountIn,
    ApiTokenIn,
    ApiTokenOut,
    ServerIn,
    account_out,
    api_token_out,
    approval_out,
    oauth_client_out,
    server_out,
)
from stripe_mcp.web.admin.openapi import openapi_document
from stripe_mcp.web.bodies import BodyTooLarge, read_body
from stripe_mcp.web.credentials import bearer_token, same_secret
from stripe_mcp.web.errors import error_response, unauthorized
from stripe_mcp.web.runtime import Runtime

MAX_BODY_BYTES = 64 * 1024
OAUTH_CLIENTS = "/integrated-account/{account_id}/mcp/{server_id}/oauth-clients"
log = logging.getLogger("stripe_mcp.admin")  # the same lines the console logs (ids, never keys or tokens)

Endpoint = Callable[[Request], Awaitable[Response]]
Model = TypeVar("Model", bound=BaseModel)


class AdminError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class AdminApi:
    def __init__(self, runtime_of: Callable[[], Runtime], admin_token: str | None) -> None:
        self.runtime_of = runtime_of
        self.admin_token = admin_token

    def routes(self) -> list[Route]:
        return [
            Route("/openapi.json", self.openapi, methods=["GET"]),
            self._route("/integrated-account", POST=self.create_account, GET=self.list_accounts),
            self._route("/integrated-account/{account_id}", DELETE=self.delete_account),
            self._route("/integrated-account/{account_id}/mcp", POST=self.create_server, GET=self.list_servers),
            self._route("/integrated-account/{account_id}/mcp/{server_id}", DELETE=self.revoke_server),
            self._route("/api-token", POST=self.create_api_token, GET=self.list_api_tokens),
            self._route("/api-token/{token_id}", DELETE=self.revoke_api_token),
            self._route("/integrated-account/{account_id}/approvals", GET=self.list_approvals),
            self._route("/approvals/{approval_id}/approve", POST=self.approve),
            self._route("/approvals/{approval_id}/deny", POST=self.deny),
            self._route(OAUTH_CLIENTS, GET=self.list_oauth_clients, DELETE=self.revoke_oauth_clients),
        ]

    def _route(self, path: str, **handlers: Endpoint) -> Route:
        """One route per path, so that a 405 lists every method the path has in its Allow header."""
        guarded = {method: self._guard(handler) for method, handler in handlers.items()}

        async def endpoint(request: Request) -> Response:
            return await guarded[request.method](request)

        return Route(path, endpoint, methods=list(handlers))

    def _guard(self, handler: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            if not self.admin_token:
                return error_response(
                    403, "admin_disabled", "the admin API is closed: set STRIPE_MCP_ADMIN_TOKEN to open it"
                )
            token = bearer_token(request)
            if token is None or not same_secret(token, self.admin_token):
                return unauthorized("send Authorization: Bearer <admin token>")
            try:
                return await handler(request)
            except AdminError as error:
                return error_response(error.status, error.code, error.message)
            except self.runtime_of().store.unavailable:
                log.exception("the store is unavailable")
                return error_response(503, "store_unavailable", "the store is unavailable; try again once it is back")

        return guarded

    async def _body(self, request: Request, model: type[Model]) -> Model:
        try:
            body = await read_body(request, MAX_BODY_BYTES)
        except BodyTooLarge as error:
            raise AdminError(413, "body_too_large", str(error)) from None
        if not _json_body(request.headers.get("content-type", ""), body):
            raise AdminError(415, "unsupported_media_type", "send the body as JSON (Content-Type: application/json)")
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
        body = await self._body(request, AccountIn)
        runtime = self.runtime_of()
        try:
            record = await service.create_account(runtime.store, runtime.keys, body.name, body.stripe_api_key)
        except MissingEncryptionKey as error:
            raise AdminError(503, "encryption_key_missing", str(error)) from None
        log.info("admin API: account added", extra={"account_id": record.id})
        return JSONResponse({"id": record.id, "name": record.name}, status_code=201)

    async def list_accounts(self, request: Request) -> Response:
        accounts = await self.runtime_of().store.list_accounts()
        return JSONResponse({"data": [account_out(a) for a in accounts]})

    async def delete_account(self, request: Request) -> Response:
        account = await self._account(request.path_params["account_id"])
        runtime = self.runtime_of()
        await service.delete_account(runtime.store, account.id, runtime.forget_servers)
        log.info("admin API: account removed", extra={"account_id": account.id})
        return Response(status_code=204)

    async def create_server(self, request: Request) -> Response:
        account = await self._account(request.path_params["account_id"])
        body = await self._body(request, ServerIn)
        expires_at = _timestamp(body.expires_at)
        runtime = self.runtime_of()
        try:
            created = await service.create_server(
                runtime.store,
                runtime.registry,
                account.id,
                body.name,
                body.config.model_dump(),
                expires_at,
                now=runtime.clock(),
            )
        except PolicyError as error:
            raise AdminError(400, "invalid_config", str(error)) from None
        log.info("admin API: MCP server created", extra={"account_id": account.id, "server_id": created.record.id})
        url = runtime.mcp_url(created.token)
        return JSONResponse(server_out(runtime.registry, created.record, url), status_code=201)

    async def list_servers(self, request: Request) -> Response:
        account = await self._account(request.path_params["account_id"])
        runtime = self.runtime_of()
        now = runtime.clock()
        data = []
        for record in await service.list_servers(runtime.store, account.id, now):
            usage = await service.server_usage(runtime.store, record.id, now)
            try:
                url = runtime.mcp_url(token) if (token := service.shown_token(record)) else None
                data.append(server_out(runtime.registry, record, url, usage))
            except (ValueError, TypeError, KeyError):  # a stored row this version cannot show: listed in the log
                log.warning("MCP server %s cannot be listed: its stored record is not valid", record.id)
        return JSONResponse({"data": data})

    async def revoke_server(self, request: Request) -> Response:
        account = await self._account(request.path_params["account_id"])
        runtime = self.runtime_of()
        if not await service.revoke_server(
            runtime.store,
            account.id,
            request.path_params["server_id"],
            runtime.forget_servers,
            runtime.keys,
            now=runtime.clock(),
        ):
            raise AdminError(404, "not_found", "no such MCP server on this account")
        log.info(
            "admin API: MCP server revoked",
            extra={"account_id": account.id, "server_id": request.path_params["server_id"]},
        )
        return Response(status_code=204)

    async def create_api_token(self, request: Request) -> Response:
        body = await self._body(request, ApiTokenIn)
        expires_at = _timestamp(body.expires_at)
        runtime = self.runtime_of()
        try:
            record, token = await service.create_api_token(
                runtime.store, admin=body.admin, account_id=body.account_id, expires_at=expires_at, now=runtime.clock()
            )
        except PolicyError as error:
            raise AdminError(400, "invalid_request", str(error)) from None
        log.info(
            "admin API: API token created",
            extra={"api_token_id": record.id, "admin": body.admin, "account_id": record.account_id},
        )
        return JSONResponse(ApiTokenOut(id=record.id, token=token).model_dump(), status_code=201)

    async def _server(self, request: Request) -> ServerRecord:
        account = await self._account(request.path_params["account_id"])
        runtime = self.runtime_of()
        server = await service.find_server(runtime.store, account.id, request.path_params["server_id"], runtime.clock())
        if server is None:
            raise AdminError(404, "not_found", "no such MCP server on this account")
        return server

    async def list_oauth_clients(self, request: Request) -> Response:
        """The clients connected to the server with OAuth (none, for a url_token server)."""
        server = await self._server(request)
        runtime = self.runtime_of()
        found = await connections.connections(runtime.store.oauth, server.id, runtime.clock())
        return JSONResponse({"data": [oauth_client_out(c) for c in found]})

    async def revoke_oauth_clients(self, request: Request) -> Response:
        """One client's grants (?client_id=...: a client id may be a URL), or every client's; their tokens stop
        working at once."""
        server = await self._server(request)
        client_id = request.query_params.get("client_id") or None
        if not await connections.disconnect(self.runtime_of().store.oauth, server.id, client_id) and client_id:
            raise AdminError(404, "not_found", "that client is not connected to this server")
        return Response(status_code=204)

    async def list_api_tokens(self, request: Request) -> Response:
        runtime = self.runtime_of()
        tokens = await service.list_api_tokens(runtime.store, runtime.clock())
        return JSONResponse({"data": [api_token_out(t) for t in tokens]})

    async def revoke_api_token(self, request: Request) -> Response:
        token_id = str(request.path_params["token_id"])[:64]
        if not await service.revoke_api_token(self.runtime_of().store, token_id):
            raise AdminError(404, "not_found", f"no API token {token_id}")
        log.info("admin API: API token revoked", extra={"api_token_id": token_id})
        return Response(status_code=204)

    async def list_approvals(self, request: Request) -> Response:
        account = await self._account(request.path_params["account_id"])
        runtime = self.runtime_of()
        listed = await approvals.list_approvals(runtime.store, account.id, runtime.clock())
        return JSONResponse({"data": [approval_out(item) for item in listed]})

    async def approve(self, request: Request) -> Response:
        return await self._decide(request, approve=True)

    async def deny(self, request: Request) -> Response:
        return await self._decide(request, approve=False)

    async def _decide(self, request: Request, *, approve: bool) -> Response:
        runtime = self.runtime_of()
        now = runtime.clock()
        try:
            decided = await approvals.decide(
                runtime.store, request.path_params["approval_id"], approve=approve, who=approvals.ADMIN_API, now=now
            )
        except approvals.DecisionError as error:
            raise AdminError(error.status, error.code, error.message) from None
        return JSONResponse(approval_out(approvals.Listed(decided, decided.status_at(now), True)))

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document())


def _json_body(content_type: str, body: bytes) -> bool:
    """Whether to read `body` as JSON: when it says so, when it says nothing, or when it parses as JSON whatever
    it says (`curl -d '{...}'` labels JSON as a form). A real form or multipart body is refused with 415."""
    if not content_type or "json" in content_type.lower():
        return True
    try:
        json.loads(body)
    except ValueError:  # also UnicodeDecodeError
        return False
    return True


def _timestamp(when: datetime | None) -> float | None:
    try:
        return None if when is None else timestamp_of(when)
    except PolicyError as error:
        raise AdminError(400, "invalid_request", str(error)) from None
