"""The admin console: server-rendered pages at /admin for people who will never call an API.

- Every change goes through stripe_mcp.managed.service, exactly as the admin API does (and validates input with
  the admin API's own pydantic models).
- Sessions are signed cookies (itsdangerous) whose key is derived from the encryption key, so every
  replica verifies them; HttpOnly, SameSite=Strict, Path=/admin, 8 hours at most. A session is bound
  to the credential that opened it: changing STRIPE_MCP_ADMIN_TOKEN ends its sessions.
- Every POST must come from this origin (Origin, else Referer) and carry the session's CSRF token.
- Pages work without JavaScript; two small inline scripts (with a CSP nonce) add copy buttons and a
  live tool count. Jinja2 is imported on the first page only, so an MCP-only process never loads it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route

from stripe_mcp.managed import service
from stripe_mcp.managed.secrets import KeyBox, MissingEncryptionKey
from stripe_mcp.mcp.security import LOOPBACK_HOSTS, host_allowed
from stripe_mcp.tools.filters import EXPOSURES, KINDS, METHOD_GROUPS, PolicyError
from stripe_mcp.web.admin.models import AccountIn, ServerIn

log = logging.getLogger("stripe_mcp.console")

TEMPLATES = Path(__file__).with_name("console_templates")
PREFIX = "/admin"
COOKIE = "stripe_mcp_console"
SESSION_SECONDS = 8 * 3600
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 500
SIGN_IN_ATTEMPTS, SIGN_IN_WINDOW_SECONDS = 20, 60  # per client address, counted in the store (all attempts)
SEARCH_RESULTS = 50
EXPIRY_CHOICES = (
    ("never", "Never"),
    ("3600", "In 1 hour"),
    ("86400", "In 1 day"),
    ("604800", "In 7 days"),
    ("2592000", "In 30 days"),
    ("7776000", "In 90 days"),
    ("date", "On the date below (UTC)"),
)
EXPOSURE_HELP = {
    "all": "every tool the filters leave, listed one by one",
    "discovery": "three tools (search_tools, get_tool_schema, call_tool) that find and call the others",
    "chatgpt": "ChatGPT's search and fetch, built on the tools the filters leave",
}
METHOD_HELP = {
    "read": "get, list and search",
    "write": "create, update, delete and custom actions",
}
NOTICES = {
    "account-added": "Account added.",
    "account-removed": "Account removed, with its MCP servers.",
    "server-revoked": "MCP server revoked: its URL now answers 404.",
}
FIELD_LABELS = {
    "name": "Name: give 1 to 200 printable characters.",
    "stripe_api_key": "Stripe key: paste a secret key (sk_test_…, sk_live_…) or a restricted key (rk_test_…, rk_live_…).",
    "methods": "Methods: choose from the listed ones.",
    "tags": "Tags: give functional areas or resources, separated by commas.",
    "tool_exposure": "Tool exposure: choose all, discovery or chatgpt.",
    "expires_at": "Expiry: give a date and time.",
}


class NotFound(Exception):
    pass


@dataclass(frozen=True)
class Session:
    sid: str
    csrf: str
    who: str | None = None  # "admin" or "api-token" once signed in
    proof: str = ""  # binds the session to its credential (see Console._still_valid)

    @property
    def signed_in(self) -> bool:
        return self.who is not None

    @classmethod
    def anonymous(cls) -> Session:
        return cls(secrets.token_urlsafe(16), secrets.token_urlsafe(32))


@dataclass
class Form:
    values: dict[str, list[str]] = field(default_factory=dict)

    def first(self, key: str, default: str = "") -> str:
        return (self.values.get(key) or [default])[0]

    def all(self, key: str) -> list[str]:
        return [v for v in self.values.get(key, []) if v != ""]


class FormError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


Handler = Callable[[Request, "Session | None", "Form | None"], Awaitable[Response]]


class Console:
    def __init__(self, runtime_of: Callable[[], Any], settings: Any, keys: KeyBox | None) -> None:
        self.runtime_of = runtime_of
        self.settings = settings
        self.keys = keys
        self._serializer: URLSafeTimedSerializer | None = None
        self._secret = b""

    # Routes ---------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        account = PREFIX + "/accounts/{account_id}"
        server = account + "/servers/{server_id}"
        return [
            Route(PREFIX, self._page(self.home), methods=["GET"]),
            Route(PREFIX + "/", self._page(self.home), methods=["GET"]),
            Route(PREFIX + "/static/console.css", self.stylesheet, methods=["GET"]),
            Route(PREFIX + "/sign-in", self._page(self.sign_in_page, signed_in=False), methods=["GET"]),
            Route(PREFIX + "/sign-in", self._page(self.sign_in, signed_in=False), methods=["POST"]),
            Route(PREFIX + "/sign-out", self._page(self.sign_out), methods=["POST"]),
            Route(PREFIX + "/accounts", self._page(self.accounts), methods=["GET"]),
            Route(PREFIX + "/accounts", self._page(self.add_account), methods=["POST"]),
            Route(account, self._page(self.account), methods=["GET"]),
            Route(account + "/remove", self._page(self.remove_account), methods=["GET", "POST"]),
            Route(account + "/servers/new", self._page(self.new_server), methods=["GET"]),
            Route(account + "/servers", self._page(self.create_server), methods=["POST"]),
            Route(server + "/revoke", self._page(self.revoke_server), methods=["GET", "POST"]),
            Route(server + "/tools", self._page(self.tools), methods=["GET"]),
            Route(server + "/tools/{tool_name}", self._page(self.tool), methods=["GET"]),
            Route(PREFIX + "/tool-count", self._page(self.tool_count), methods=["GET"]),
        ]

    def _page(self, handler: Handler, *, signed_in: bool = True) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if not self.settings.admin_token:
                return self._render(
                    request,
                    None,
                    "message.html",
                    403,
                    title="Console closed",
                    message="The admin console is closed: set STRIPE_MCP_ADMIN_TOKEN to open it.",
                )
            if not host_allowed(request.headers.get("host"), self.settings.allowed_hosts):
                return PlainTextResponse("Invalid Host header", status_code=421)
            posted = request.method == "POST"
            if posted and not self._same_origin(request):
                return self._refused(request, None)
            session = await self._session(request)
            if signed_in and (session is None or not session.signed_in):
                return self._to_sign_in(request)
            form = None
            if posted:
                try:
                    form = await _read_form(request)
                except FormError as error:
                    return self._render(
                        request, session, "message.html", error.status, title="Not accepted", message=str(error)
                    )
                if session is None or not hmac.compare_digest(form.first("csrf").encode(), session.csrf.encode()):
                    return self._refused(request, session)
            try:
                return await handler(request, session, form)
            except NotFound:
                return self._render(
                    request,
                    session,
                    "message.html",
                    404,
                    title="Not found",
                    message="There is nothing here: it may have been removed or revoked.",
                )

        return endpoint

    # Sessions -------------------------------------------------------------------------------------

    async def _signer(self) -> URLSafeTimedSerializer:
        if self._serializer is None:
            if self.keys is not None:
                secret = self.keys.derive_token("console", "admin-console-session-cookies")
            else:  # no encryption key (and so no account yet): replicas agree through the store
                secret = await self.runtime_of().store.setting("console-session-secret", secrets.token_urlsafe(32))
            self._secret = secret.encode()
            self._serializer = URLSafeTimedSerializer(secret, salt="stripe-mcp admin console session")
        return self._serializer

    async def _session(self, request: Request) -> Session | None:
        raw = request.cookies.get(COOKIE)
        if not raw or len(raw) > 4096:
            return None
        try:
            data = (await self._signer()).loads(raw, max_age=SESSION_SECONDS)
            session = Session(str(data["sid"]), str(data["csrf"]), data.get("who"), str(data.get("proof", "")))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        if session.who is not None and not await self._still_valid(session):
            return None
        return session

    async def _still_valid(self, session: Session) -> bool:
        if session.who == "admin":
            return hmac.compare_digest(session.proof.encode(), (await self._admin_proof()).encode())
        if session.who == "api-token":
            record = await self.runtime_of().store.api_token_by_hash(session.proof)
            return record is not None and record.admin
        return False

    async def _admin_proof(self) -> str:
        await self._signer()  # sets self._secret
        token = (self.settings.admin_token or "").encode()
        return hmac.new(self._secret, b"admin-token:" + token, hashlib.sha256).hexdigest()[:32]

    async def _with_cookie(self, request: Request, response: Response, session: Session) -> Response:
        value = (await self._signer()).dumps(
            {"sid": session.sid, "csrf": session.csrf, "who": session.who, "proof": session.proof}
        )
        response.set_cookie(
            COOKIE,
            value,
            max_age=SESSION_SECONDS,
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=self._secure(request),
        )
        return response

    def _secure(self, request: Request) -> bool:
        if request.url.scheme == "https":
            return True
        host = (request.url.hostname or "").lower()
        return self.settings.public_url.startswith("https://") and host not in LOOPBACK_HOSTS

    def _same_origin(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is None:
            referer = request.headers.get("referer")
            if not referer:
                return False
            try:
                parts = urlsplit(referer)
            except ValueError:
                return False
            origin = f"{parts.scheme}://{parts.netloc}"
        public = urlsplit(self.settings.public_url)
        expected = {
            f"{request.url.scheme}://{request.headers.get('host', '')}".lower(),
            f"{public.scheme}://{public.netloc}".lower(),
        }
        return origin.strip().lower().rstrip("/") in expected

    def _to_sign_in(self, request: Request) -> Response:
        target = PREFIX + "/sign-in"
        if request.method == "GET" and request.url.path not in (PREFIX, PREFIX + "/"):
            wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            target += "?next=" + quote(wanted, safe="")
        return RedirectResponse(target, status_code=303, headers=_SECURITY_HEADERS)

    def _refused(self, request: Request, session: Session | None) -> Response:
        return self._render(
            request,
            session,
            "message.html",
            403,
            title="Refused",
            message="This request was refused. Go back, reload the page and try again.",
        )

    # Rendering ------------------------------------------------------------------------------------

    @cached_property
    def templates(self) -> Any:
        import jinja2  # here, not at the top: MCP-only processes never load Jinja2

        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["when"] = _when
        env.filters["iso"] = _iso
        env.filters["ago"] = _ago
        env.globals.update(prefix=PREFIX)
        return env

    def _render(
        self, request: Request, session: Session | None, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        context.setdefault("notice", NOTICES.get(request.query_params.get("notice", "")))
        context.setdefault("crumbs", [])
        html = self.templates.get_template(template).render(
            session=session, csrf=session.csrf if session else "", nonce=nonce, **context
        )
        headers = {**_SECURITY_HEADERS, "content-security-policy": _csp(nonce)}
        return HTMLResponse(html, status_code=status, headers=headers)

    async def stylesheet(self, request: Request) -> Response:
        return Response(
            (TEMPLATES / "console.css").read_bytes(),
            media_type="text/css",
            headers={"cache-control": "public, max-age=300", "x-content-type-options": "nosniff"},
        )

    # Sign-in --------------------------------------------------------------------------------------

    async def home(self, request: Request, session: Session | None, form: Form | None) -> Response:
        return RedirectResponse(PREFIX + "/accounts", status_code=303, headers=_SECURITY_HEADERS)

    async def sign_in_page(self, request: Request, session: Session | None, form: Form | None) -> Response:
        wanted = _safe_next(request.query_params.get("next", ""))
        if session is not None and session.signed_in:
            return RedirectResponse(wanted, status_code=303, headers=_SECURITY_HEADERS)
        session = session or Session.anonymous()
        page = self._render(request, session, "sign_in.html", next=wanted, error=None)
        return await self._with_cookie(request, page, session)

    async def sign_in(self, request: Request, session: Session | None, form: Form | None) -> Response:
        assert session is not None and form is not None
        runtime = self.runtime_of()
        wanted = _safe_next(form.first("next"))
        client = request.client.host if request.client else "unknown"
        attempt = await runtime.store.take_budget(
            f"console-sign-in:{client}", SIGN_IN_ATTEMPTS, SIGN_IN_WINDOW_SECONDS, runtime.clock()
        )
        if not attempt.allowed:
            page = self._render(
                request,
                session,
                "sign_in.html",
                429,
                next=wanted,
                error=f"Too many sign-in attempts: try again in {attempt.reset_seconds} s.",
            )
            page.headers["retry-after"] = str(attempt.reset_seconds)
            return page
        token = form.first("token").strip()
        who, proof, token_id = None, "", None
        if token and hmac.compare_digest(token.encode(), (self.settings.admin_token or "").encode()):
            who, proof = "admin", await self._admin_proof()
        elif token and (record := await service.admin_api_token(runtime.store, token)) is not None:
            who, proof, token_id = "api-token", record.token_hash, record.id
        if who is None:
            log.info("console sign-in refused", extra={"client": client})
            # The same answer whatever was wrong.
            return self._render(request, session, "sign_in.html", 401, next=wanted, error="Sign-in failed.")
        log.info("console sign-in", extra={"who": who, "api_token_id": token_id, "client": client})
        fresh = Session(secrets.token_urlsafe(16), secrets.token_urlsafe(32), who, proof)  # new ids: no fixation
        return await self._with_cookie(
            request, RedirectResponse(wanted, status_code=303, headers=_SECURITY_HEADERS), fresh
        )

    async def sign_out(self, request: Request, session: Session | None, form: Form | None) -> Response:
        response = RedirectResponse(PREFIX + "/sign-in", status_code=303, headers=_SECURITY_HEADERS)
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict", secure=self._secure(request))
        return response

    # Accounts -------------------------------------------------------------------------------------

    async def _account(self, request: Request) -> Any:
        account = await self.runtime_of().store.get_account(request.path_params["account_id"][:64])
        if account is None:
            raise NotFound()
        return account

    async def _accounts_page(self, request: Request, session: Session, status: int = 200, **context: Any) -> Response:
        runtime = self.runtime_of()
        now = runtime.clock()
        rows = [
            (a, len(await service.list_servers(runtime.store, a.id, now))) for a in await runtime.store.list_accounts()
        ]
        context.setdefault("errors", [])
        context.setdefault("values", {"name": ""})
        return self._render(request, session, "accounts.html", status, accounts=rows, **context)

    async def accounts(self, request: Request, session: Session | None, form: Form | None) -> Response:
        assert session is not None
        return await self._accounts_page(request, session)

    async def add_account(self, request: Request, session: Session | None, form: Form | None) -> Response:
        assert session is not None and form is not None
        runtime = self.runtime_of()
        values = {"name": form.first("name")[:200]}  # the key is never sent back
        try:
            body = AccountIn.model_validate(
                {"name": form.first("name"), "stripe_api_key": form.first("stripe_api_key").strip()}
            )
            record = await service.create_account(runtime.store, runtime.keys, body.name, body.stripe_api_key)
        except ValidationError as error:
            return await self._accounts_page(request, session, 400, errors=_problems(error), values=values)
        except MissingEncryptionKey as error:
            return await self._accounts_page(request, session, 503, errors=[str(error)], values=values)
        log.info("console: account added", extra={"account_id": record.id})
        return RedirectResponse(
            f"{PREFIX}/accounts/{record.id}?notice=account-added", status_code=303, headers=_SECURITY_HEADERS
        )

    async def account(self, request: Request, session: Session | None, form: Form | None) -> Response:
        account = await self._account(request)
        runtime = self.runtime_of()
        now = runtime.clock()
        rows = []
        for record in await service.list_servers(runtime.store, account.id, now):
            rows.append(
                {
                    "record": record,
                    "tools": service.server_tools(runtime.registry, record.config),
                    "usage": await service.server_usage(runtime.store, record.id, now),
                }
            )
        return self._render(
            request,
            session,
            "account.html",
            account=account,
            servers=rows,
            now=now,
            crumbs=[("Accounts", PREFIX + "/accounts")],
        )

    async def remove_account(self, request: Request, session: Session | None, form: Form | None) -> Response:
        account = await self._account(request)
        runtime = self.runtime_of()
        if request.method == "POST":
            await service.delete_account(runtime.store, account.id, runtime.forget_servers)
            log.info("console: account removed", extra={"account_id": account.id})
            return RedirectResponse(
                PREFIX + "/accounts?notice=account-removed", status_code=303, headers=_SECURITY_HEADERS
            )
        count = len(await service.list_servers(runtime.store, account.id, runtime.clock()))
        return self._render(
            request,
            session,
            "confirm.html",
            title=f"Remove account {account.name}?",
            message=f"This deletes its Stripe key and its {count} MCP server(s); their URLs stop working at once.",
            action=f"{PREFIX}/accounts/{account.id}/remove",
            button="Remove account",
            back=f"{PREFIX}/accounts/{account.id}",
            crumbs=[("Accounts", PREFIX + "/accounts"), (account.name, f"{PREFIX}/accounts/{account.id}")],
        )

    # Servers --------------------------------------------------------------------------------------

    def _server_form(
        self,
        request: Request,
        session: Session | None,
        account: Any,
        status: int,
        values: dict[str, Any],
        errors: list[str],
        preview: Any = None,
    ) -> Response:
        registry = self.runtime_of().registry
        areas = sorted({t.tags[0] for t in registry.tools.values() if t.tags})
        resources = sorted({tag for t in registry.tools.values() for tag in t.tags[1:]} - set(areas))
        return self._render(
            request,
            session,
            "server_new.html",
            status,
            account=account,
            values=values,
            errors=errors,
            preview=preview,
            count_text=_count_text(preview) if preview else None,
            methods=[*METHOD_GROUPS, *KINDS],
            method_help=METHOD_HELP,
            areas=areas,
            resources=resources,
            exposures=EXPOSURES,
            exposure_help=EXPOSURE_HELP,
            expiry_choices=EXPIRY_CHOICES,
            crumbs=[("Accounts", PREFIX + "/accounts"), (account.name, f"{PREFIX}/accounts/{account.id}")],
        )

    async def new_server(self, request: Request, session: Session | None, form: Form | None) -> Response:
        account = await self._account(request)
        values = _server_values(Form())
        preview = service.preview_tools(self.runtime_of().registry, values["config"])
        return self._server_form(request, session, account, 200, values, [], preview)

    async def create_server(self, request: Request, session: Session | None, form: Form | None) -> Response:
        assert form is not None
        account = await self._account(request)
        runtime = self.runtime_of()
        values = _server_values(form)
        errors: list[str] = []
        preview = None
        try:
            preview = service.preview_tools(runtime.registry, values["config"])
        except PolicyError as error:
            errors.append(f"Tools: {error}.")
        expires_at = _expires_at(values, runtime.clock(), errors)
        body = None
        try:
            body = ServerIn.model_validate(
                {"name": values["name"], "config": values["config"], "expires_at": expires_at}
            )
        except ValidationError as error:
            errors.extend(_problems(error))
        if errors or body is None or form.first("action") == "preview":
            return self._server_form(request, session, account, 400 if errors else 200, values, errors, preview)
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
            return self._server_form(request, session, account, 400, values, [f"{error}."], preview)
        log.info("console: MCP server created", extra={"account_id": account.id, "server_id": created.record.id})
        url = runtime.mcp_url(created.token)
        return self._render(
            request,
            session,
            "server_created.html",
            account=account,
            server=created.record,
            url=url,
            tools=service.server_tools(runtime.registry, created.record.config),
            snippets=_snippets(url, created.record.config),
            crumbs=[("Accounts", PREFIX + "/accounts"), (account.name, f"{PREFIX}/accounts/{account.id}")],
        )

    async def _server(self, request: Request, account: Any) -> Any:
        runtime = self.runtime_of()
        record = await service.find_server(
            runtime.store, account.id, request.path_params["server_id"][:64], runtime.clock()
        )
        if record is None:
            raise NotFound()
        return record

    async def revoke_server(self, request: Request, session: Session | None, form: Form | None) -> Response:
        account = await self._account(request)
        runtime = self.runtime_of()
        if request.method == "POST":
            if not await service.revoke_server(
                runtime.store, account.id, request.path_params["server_id"][:64], runtime.forget_servers
            ):
                raise NotFound()
            log.info(
                "console: MCP server revoked",
                extra={"account_id": account.id, "server_id": request.path_params["server_id"][:64]},
            )
            return RedirectResponse(
                f"{PREFIX}/accounts/{account.id}?notice=server-revoked", status_code=303, headers=_SECURITY_HEADERS
            )
        record = await self._server(request, account)
        return self._render(
            request,
            session,
            "confirm.html",
            title=f"Revoke MCP server {record.name}?",
            message="Its URL answers 404 from now on, for every client that uses it. This cannot be undone.",
            action=f"{PREFIX}/accounts/{account.id}/servers/{record.id}/revoke",
            button="Revoke server",
            back=f"{PREFIX}/accounts/{account.id}",
            crumbs=[("Accounts", PREFIX + "/accounts"), (account.name, f"{PREFIX}/accounts/{account.id}")],
        )

    async def tool_count(self, request: Request, session: Session | None, form: Form | None) -> Response:
        """The live count of the server form: what the filters leave, as the form would show it."""
        values = _server_values(Form({k: request.query_params.getlist(k) for k in request.query_params.keys()}))
        headers = {"cache-control": "no-store"}
        try:
            preview = service.preview_tools(self.runtime_of().registry, values["config"])
        except PolicyError as error:
            return JSONResponse(
                {"error": f"{error}.", "text": f"No server possible: {error}.", "warnings": []}, 400, headers=headers
            )
        return JSONResponse(
            {
                "tools": len(preview.tool_names),
                "listed": preview.listed,
                "text": _count_text(preview),
                "warnings": list(preview.warnings),
            },
            headers=headers,
        )

    # The tool browser -----------------------------------------------------------------------------

    async def tools(self, request: Request, session: Session | None, form: Form | None) -> Response:
        account = await self._account(request)
        record = await self._server(request, account)
        runtime = self.runtime_of()
        allowed = service.server_tools(runtime.registry, record.config).tool_names
        query = request.query_params.get("q", "").strip()[:200]
        if query:
            names = [name for name, _ in runtime.search_index.search(query, allowed, SEARCH_RESULTS)]
            if not names:  # words the index does not know: fall back to a plain substring match
                needle = query.lower()
                names = [n for n in allowed if needle in n or needle in runtime.registry.tools[n].title.lower()][
                    :SEARCH_RESULTS
                ]
        else:
            names = list(allowed)
        return self._render(
            request,
            session,
            "tools.html",
            account=account,
            server=record,
            query=query,
            total=len(allowed),
            tools=[runtime.registry.tools[n] for n in names],
            crumbs=[("Accounts", PREFIX + "/accounts"), (account.name, f"{PREFIX}/accounts/{account.id}")],
        )

    async def tool(self, request: Request, session: Session | None, form: Form | None) -> Response:
        account = await self._account(request)
        record = await self._server(request, account)
        runtime = self.runtime_of()
        name = request.path_params["tool_name"]
        if name not in service.server_tools(runtime.registry, record.config).tool_names:
            raise NotFound()
        tools_url = f"{PREFIX}/accounts/{account.id}/servers/{record.id}/tools"
        return self._render(
            request,
            session,
            "tool.html",
            account=account,
            server=record,
            tool=runtime.registry.tools[name],
            schema=json.dumps(runtime.registry.input_schema(name), indent=2, ensure_ascii=False),
            crumbs=[
                ("Accounts", PREFIX + "/accounts"),
                (account.name, f"{PREFIX}/accounts/{account.id}"),
                (f"Tools of {record.name}", tools_url),
            ],
        )


# Helpers ----------------------------------------------------------------------------------------

_SECURITY_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def _csp(nonce: str) -> str:
    return (
        "default-src 'none'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        f"script-src 'nonce-{nonce}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


async def _read_form(request: Request) -> Form:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        return Form()  # not a form of these pages: no CSRF token in it, so refused with 403
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise FormError(413, "The form is too large.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormError(413, "The form is too large.")
    try:
        values = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise FormError(400, "The form could not be read.") from None
    return Form(values)


def _safe_next(value: str) -> str:
    """Only a path of this console: never another site (no scheme, no //host, no backslash)."""
    default = PREFIX + "/accounts"
    if not value or not value.startswith(PREFIX + "/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value) or value.startswith(PREFIX + "/sign-"):
        return default
    if "//" in value or any(part in (".", "..") for part in value.split("?")[0].split("/")):
        return default
    return value


def _problems(error: ValidationError) -> list[str]:
    """Validation errors as sentences, never echoing what was typed (it may be a key)."""
    problems: list[str] = []
    for item in error.errors(include_url=False, include_input=False):
        place = [str(p) for p in item["loc"] if not isinstance(p, int)]
        key = next((p for p in reversed(place) if p in FIELD_LABELS), None)
        text = FIELD_LABELS[key] if key else f"{'.'.join(place) or 'form'}: {item['msg']}."
        if text not in problems:
            problems.append(text)
    return problems


def _split_tags(text: str) -> list[str]:
    return [t for t in (part.strip() for part in text.replace(",", " ").split()) if t]


def _server_values(form: Form) -> dict[str, Any]:
    """The server form as typed, plus the configuration it asks for (validated later, by the service)."""
    areas = form.all("tags")
    more = form.first("more_tags")[:2000]
    config = {
        "methods": form.all("methods"),
        "tags": list(dict.fromkeys([*areas, *_split_tags(more)])),
        "require_api_token_auth": form.first("require_api_token_auth") == "on",
        "tool_exposure": form.first("tool_exposure", "all") or "all",
        "full_results": form.first("full_results") == "on",
    }
    return {
        "name": form.first("name")[:300],
        "config": config,
        "areas": set(areas),
        "more_tags": more,
        "expires": form.first("expires", "never"),
        "expires_on": form.first("expires_on")[:40],
    }


def _expires_at(values: dict[str, Any], now: float, errors: list[str]) -> str | None:
    choice = values["expires"]
    if choice == "never":
        return None
    if choice == "date":
        try:
            when = datetime.fromisoformat(values["expires_on"])
        except ValueError:
            errors.append("Expiry: give a date and time, e.g. 2026-12-31T00:00 (UTC).")
            return None
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when
        return when.isoformat()
    if choice in dict(EXPIRY_CHOICES) and choice.isdigit():
        return datetime.fromtimestamp(now + int(choice), tz=UTC).isoformat()
    errors.append("Expiry: choose one of the listed choices.")
    return None


def _count_text(preview: service.ToolPreview) -> str:
    count = len(preview.tool_names)
    tools = f"{count} tool{'s' if count != 1 else ''}"
    if preview.listed == count:
        return f"{tools} match these filters; agents see all of them in tools/list."
    if preview.listed == 3:
        return f"{tools} match these filters; agents see 3 discovery tools and reach these through call_tool."
    return f"{tools} match these filters; agents see ChatGPT's search and fetch, which use them."


def _snippets(url: str, config: dict[str, Any]) -> dict[str, str]:
    auth = bool(config.get("require_api_token_auth"))
    remote_args = ["mcp-remote", url] + (["--header", "Authorization:${AUTH_HEADER}"] if auth else [])
    claude: dict[str, Any] = {"command": "npx", "args": remote_args}
    if auth:
        claude["env"] = {"AUTH_HEADER": "Bearer <your API token>"}
    header = ' --header "Authorization: Bearer $STRIPE_MCP_API_TOKEN"' if auth else ""
    return {
        "chatgpt": url,
        "claude_command": f"npx mcp-remote {url}"
        + (' --header "Authorization:Bearer $STRIPE_MCP_API_TOKEN"' if auth else ""),
        "claude_config": json.dumps({"mcpServers": {"stripe": claude}}, indent=2),
        "inspector": f"npx @modelcontextprotocol/inspector --cli {url} --transport http --method tools/list{header}",
    }


def _when(timestamp: float | None, missing: str = "never") -> str:
    if timestamp is None:
        return missing
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _iso(timestamp: float | None) -> str:
    return "" if timestamp is None else datetime.fromtimestamp(timestamp, tz=UTC).isoformat().replace("+00:00", "Z")


def _ago(timestamp: float | None, now: float) -> str:
    if timestamp is None:
        return "never"
    seconds = max(0, int(now - timestamp))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"
