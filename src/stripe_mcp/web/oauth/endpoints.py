"""The OAuth endpoints: metadata, registration, the authorization endpoint (which hands the person to the console
to consent), tokens and revocation. Each reads its input with limits and answers errors in OAuth's own shape."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from urllib.parse import parse_qsl, quote, unquote_plus

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from stripe_mcp.managed import service
from stripe_mcp.managed.oauth import SCOPE, clients, grants
from stripe_mcp.managed.oauth.errors import OAuthError
from stripe_mcp.managed.oauth.urls import canonical_url, redirect_matches, with_query
from stripe_mcp.managed.secrets import token_hash
from stripe_mcp.managed.store.base import OAuthClientRecord, ServerRecord
from stripe_mcp.web.bodies import BodyTooLarge, read_body
from stripe_mcp.web.console.urls import CONSENT
from stripe_mcp.web.errors import error_response
from stripe_mcp.web.oauth.answers import (
    Endpoint,
    continue_page,
    error_page,
    json_answer,
    oauth_error,
    with_cors,
)
from stripe_mcp.web.oauth.metadata import (
    AUTHORIZATION_SERVER,
    AUTHORIZE,
    PROTECTED_RESOURCE,
    REGISTER,
    REVOKE,
    TOKEN,
    authorization_server_metadata,
    issuer,
    protected_resource_metadata,
)
from stripe_mcp.web.runtime import Runtime

log = logging.getLogger("stripe_mcp")
MAX_BODY_BYTES = 16 * 1024
MAX_FIELDS = 32
# Per client address and minute, counted in the store (so across replicas): each of these writes to it.
BUDGETS = {"register": 60, "authorize": 120, "token": 300}
BUDGET_WINDOW_SECONDS = 60
STORE_UNAVAILABLE = "the store is unavailable; try again once it is back"


class OAuthEndpoints:
    def __init__(self, runtime_of: Callable[[], Runtime]) -> None:
        self.runtime_of = runtime_of

    def routes(self) -> list[Route]:
        api = self._guarded
        return [
            Route(
                PROTECTED_RESOURCE + "/mcp/{server_id}",
                with_cors(api(self.protected_resource)),
                methods=["GET", "OPTIONS"],
            ),
            Route(AUTHORIZATION_SERVER, with_cors(api(self.authorization_server)), methods=["GET", "OPTIONS"]),
            Route(REGISTER, with_cors(api(self.register)), methods=["POST", "OPTIONS"]),
            Route(AUTHORIZE, self._guarded(self.authorize, page=True), methods=["GET"]),
            Route(TOKEN, with_cors(api(self.token)), methods=["POST", "OPTIONS"]),
            Route(REVOKE, with_cors(api(self.revoke)), methods=["POST", "OPTIONS"]),
        ]

    def _guarded(self, endpoint: Endpoint, *, page: bool = False) -> Endpoint:
        """The endpoint, answering 503 when the store is unavailable (as the MCP URLs, admin API and console do):
        a person gets a page, a client the error in OAuth's shape."""

        async def guarded(request: Request) -> Response:
            try:
                return await endpoint(request)
            except self.runtime_of().store.unavailable:
                log.exception("the store is unavailable")
                if page:
                    return error_page(503, "Try again later", STORE_UNAVAILABLE)
                return oauth_error(OAuthError("temporarily_unavailable", STORE_UNAVAILABLE, 503))

        return guarded

    # Metadata --------------------------------------------------------------------------------------

    async def protected_resource(self, request: Request) -> Response:
        runtime = self.runtime_of()
        server_id = str(request.path_params["server_id"])[:64]
        if await grants.oauth_server(runtime.store, server_id, runtime.clock()) is None:
            return error_response(404, "not_found", "no OAuth MCP server at this URL")
        document = protected_resource_metadata(runtime.settings.public_url, runtime.mcp_url(server_id))
        return json_answer(document)

    async def authorization_server(self, request: Request) -> Response:
        settings = self.runtime_of().settings
        return json_answer(authorization_server_metadata(settings.public_url, settings.client_documents))

    # Registration (RFC 7591) ---------------------------------------------------------------------------

    async def register(self, request: Request) -> Response:
        runtime = self.runtime_of()
        try:
            await self._take_budget(request, "register")
            try:
                data = json.loads(await read_body(request, MAX_BODY_BYTES) or b"null")
            except BodyTooLarge:
                raise OAuthError(
                    "invalid_client_metadata", f"the registration is over {MAX_BODY_BYTES} bytes"
                ) from None
            except ValueError:
                raise OAuthError("invalid_client_metadata", "send the client metadata as a JSON object") from None
            if not isinstance(data, dict):
                raise OAuthError("invalid_client_metadata", "send the client metadata as a JSON object")
            registered = await clients.register(
                runtime.store.oauth, clients.ClientMetadata.parse(data), runtime.clock()
            )
        except OAuthError as error:
            return oauth_error(error)
        return json_answer(clients.registration_response(registered), 201)

    # Authorization ------------------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        """Check the request, keep it, and send the browser on to the console's consent page. Until the client
        and its redirect URI are known, errors are told to the person; after, to the client (RFC 6749 4.1.2.1)."""
        runtime = self.runtime_of()
        query = request.query_params
        try:
            await self._take_budget(request, "authorize")
            client = await clients.find_client(
                runtime.store.oauth, query.get("client_id", ""), runtime.settings.client_documents, runtime.clock()
            )
        except OAuthError as error:
            return error_page(error.status, "This app cannot connect", error.description)
        redirect_uri = query.get("redirect_uri") or (client.redirect_uris[0] if len(client.redirect_uris) == 1 else "")
        if not redirect_uri or not redirect_matches(client.redirect_uris, redirect_uri):
            return error_page(400, "This app cannot connect", "redirect_uri is not one the app registered")
        state = query.get("state")
        try:
            request_id = await self._start(client, redirect_uri, state, request)
        except OAuthError as error:
            failed = {"error": error.error, "error_description": error.description, "state": state}
            return RedirectResponse(
                with_query(redirect_uri, {**failed, "iss": issuer(runtime.settings.public_url)}), 303
            )
        return continue_page(f"{CONSENT}?request={quote(request_id, safe='')}")

    async def _start(self, client: OAuthClientRecord, redirect_uri: str, state: str | None, request: Request) -> str:
        runtime = self.runtime_of()
        query = request.query_params
        if any(len(query.getlist(name)) > 1 for name in query.keys()):
            raise OAuthError("invalid_request", "a parameter is given more than once")
        if query.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", 'response_type must be "code"')
        if query.get("code_challenge_method") != "S256":
            raise OAuthError("invalid_request", "PKCE is required, with code_challenge_method=S256")
        challenge = query.get("code_challenge", "")
        if not grants.CHALLENGE.fullmatch(challenge):
            raise OAuthError("invalid_request", "code_challenge must be the base64url SHA-256 of the code verifier")
        server = await self._server_of(query.get("resource", ""))
        if server is None:
            raise OAuthError("invalid_target", await self._target_refusal(query.get("resource", "")))
        request_record = grants.AuthorizationRequest(
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            state=state,
            code_challenge=challenge,
            server_id=server.id,
            resource=canonical_url(runtime.mcp_url(server.id)) or "",
            scope=SCOPE,  # whatever was asked for: the one scope there is (unknown scopes are ignored)
        )
        return await grants.start_request(runtime.store.oauth, request_record, runtime.clock())

    async def _server_of(self, resource: str) -> ServerRecord | None:
        """The OAuth server whose URL `resource` is (in canonical form)."""
        runtime = self.runtime_of()
        wanted = canonical_url(resource)
        if wanted is None:
            return None
        server_id = wanted.rsplit("/", 1)[-1]
        if canonical_url(runtime.mcp_url(server_id)) != wanted:
            return None
        return await grants.oauth_server(runtime.store, server_id, runtime.clock())

    async def _target_refusal(self, resource: str) -> str:
        """Why `resource` gets no token, in words that tell the person what to do: clients without Protected
        Resource Metadata (a url_token server has none) fall back to this endpoint and send no resource."""
        if not resource:
            return (
                "the app did not say which MCP server it wants (no resource parameter, RFC 8707), as apps do when "
                'the server does not use OAuth: only MCP servers with auth "oauth" connect with OAuth; a url_token '
                "server's URL is its credential (with require_api_token_auth, send an API token in Authorization: Bearer)"
            )
        runtime = self.runtime_of()
        path_token = resource.rsplit("/", 1)[-1]
        here = canonical_url(resource) == canonical_url(runtime.mcp_url(path_token))
        record = await runtime.store.server_by_token_hash(token_hash(path_token)) if here else None
        if record is not None and not service.uses_oauth(record.config):
            return (
                "this MCP server does not use OAuth: its URL is its credential (with require_api_token_auth, "
                'send an API token in Authorization: Bearer); ask its administrator for a server with auth "oauth"'
            )
        return "resource must be the URL of an OAuth MCP server here (RFC 8707)"

    # Tokens and revocation ------------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        runtime = self.runtime_of()
        try:
            await self._take_budget(request, "token")
            form = await _form(request)
            client = await self._client(request, form)
            grant_type = form.get("grant_type", "")
            if grant_type not in clients.GRANT_TYPES:
                raise OAuthError("unsupported_grant_type", "grant_type: authorization_code or refresh_token")
            if grant_type not in client.grant_types:
                raise OAuthError("unauthorized_client", f"this client did not register the {grant_type} grant")
            now, resource = runtime.clock(), form.get("resource")
            if grant_type == "authorization_code":
                tokens = await grants.exchange_code(
                    runtime.store.oauth,
                    client,
                    form.get("code", ""),
                    form.get("redirect_uri"),
                    form.get("code_verifier", ""),
                    resource,
                    now,
                )
            else:
                tokens = await grants.refresh(runtime.store, client, form.get("refresh_token", ""), resource, now)
        except OAuthError as error:
            return oauth_error(error, _basic_challenge(error, request))
        return json_answer(tokens.response())

    async def revoke(self, request: Request) -> Response:
        """RFC 7009: 200 whether or not the token was known, once the client has authenticated."""
        runtime = self.runtime_of()
        try:
            await self._take_budget(request, "token")
            form = await _form(request)
            client = await self._client(request, form)
            await grants.revoke(runtime.store.oauth, client, form.get("token", ""))
        except OAuthError as error:
            return oauth_error(error, _basic_challenge(error, request))
        return json_answer({})

    async def _client(self, request: Request, form: dict[str, str]) -> OAuthClientRecord:
        client_id, secret = credentials(request, form)
        return await clients.authenticate(self.runtime_of().store.oauth, client_id, secret)

    async def _take_budget(self, request: Request, name: str) -> None:
        runtime = self.runtime_of()
        address = request.client.host if request.client else "unknown"
        budget = await runtime.store.take_budget(
            f"oauth-{name}:{address}", BUDGETS[name], BUDGET_WINDOW_SECONDS, runtime.clock()
        )
        if not budget.allowed:
            raise OAuthError(
                "temporarily_unavailable", f"too many requests: try again in {budget.reset_seconds} s", 429
            )


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded body; each parameter at most once (RFC 6749 section 3.2)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "send the parameters as application/x-www-form-urlencoded")
    try:
        body = (await read_body(request, MAX_BODY_BYTES)).decode("utf-8")
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except BodyTooLarge:
        raise OAuthError("invalid_request", f"the request is over {MAX_BODY_BYTES} bytes") from None
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the form could not be read") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise OAuthError("invalid_request", f"{name} is given more than once")
        form[name] = value
    return form


def credentials(request: Request, form: dict[str, str]) -> tuple[str, str | None]:
    """The client id and secret: from HTTP Basic (client_secret_basic), else from the form."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return form.get("client_id", ""), form.get("client_secret") or None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "the Basic credentials could not be read", 401) from None
    raw_id, colon, raw_secret = decoded.partition(":")
    client_id = unquote_plus(raw_id)
    if not colon or form.get("client_id", client_id) != client_id or "client_secret" in form:
        raise OAuthError("invalid_client", "authenticate one way: HTTP Basic or client_secret in the form", 401)
    return client_id, unquote_plus(raw_secret)


def _basic_challenge(error: OAuthError, request: Request) -> dict[str, str]:
    """RFC 6749 section 5.2: a client that tried HTTP Basic and failed is answered with a Basic challenge."""
    if error.status == 401 and request.headers.get("authorization", "").lower().startswith("basic"):
        return {"www-authenticate": 'Basic realm="stripe-mcp"'}
    return {}
