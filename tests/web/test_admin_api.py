"""The admin API of a real `stripe-mcp serve` process (SQLite store): the CONTRACT flow and bad input."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from stripe_mcp.web.admin.routes import AdminApi
from tests.support.runtime_process import RunningServer, managed_env, serve

pytestmark = pytest.mark.integration  # a `stripe-mcp serve` process

ADMIN_TOKEN = "admin-token-for-tests-7f3a9c"
API_KEY = "sk_test_AdminApiSecretKey9876"
MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "tests", "version": "1"}},
}
SEEN_SECRETS: list[str] = [API_KEY]  # tokens are added as they are created: none may reach the log


class Admin:
    """An httpx client for the admin API that keeps every response body, to look for secrets in them."""

    def __init__(self, base_url: str, token: str | None = ADMIN_TOKEN) -> None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=10.0)
        self.bodies: list[str] = []

    def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        self.bodies.append(response.text)
        return response

    def close(self) -> None:
        self.http.close()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("admin")
    env = managed_env(ADMIN_TOKEN)
    with serve(
        workdir, "--store", f"sqlite:///{workdir / 'store.sqlite3'}", "--stripe-base-url", "http://127.0.0.1:9", env=env
    ) as server:
        yield server


@pytest.fixture(scope="module")
def admin(running: RunningServer) -> Iterator[Admin]:
    client = Admin(running.base_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def account_id(admin: Admin) -> str:
    created = admin("POST", "/integrated-account", json={"name": "shop", "stripe_api_key": API_KEY})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def in_minutes(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    assert API_KEY not in response.text
    return body["error"]


def initialize(url: str, **headers: str) -> httpx.Response:
    return httpx.post(url, json=INITIALIZE, headers={**MCP_HEADERS, **headers}, timeout=10.0)


# --------------------------------------------------------------------------- the CONTRACT flow


def test_contract_flow(running: RunningServer, admin: Admin) -> None:
    created = admin("POST", "/integrated-account", json={"name": "flow", "stripe_api_key": API_KEY})
    assert created.status_code == 201, created.text
    account = created.json()
    assert set(account) == {"id", "name"} and account["name"] == "flow"

    expires_at = in_minutes(60 * 24)
    config = {"methods": ["read"], "tags": ["disputes"], "require_api_token_auth": False, "tool_exposure": "all"}
    made = admin(
        "POST",
        f"/integrated-account/{account['id']}/mcp",
        json={"name": "support", "config": config, "expires_at": expires_at},
    )
    assert made.status_code == 201, made.text
    server = made.json()
    assert {"id", "name", "config", "expires_at", "url"} <= set(server)
    assert server["name"] == "support"
    assert {k: server["config"].get(k) for k in config} == config
    assert datetime.fromisoformat(server["expires_at"].replace("Z", "+00:00")) == datetime.fromisoformat(
        expires_at.replace("Z", "+00:00")
    )
    assert server["url"].startswith(f"{running.base_url}/mcp/")
    token = server["url"].rsplit("/", 1)[1]
    assert len(token) >= 32
    SEEN_SECRETS.append(token)

    answered = initialize(server["url"])
    assert answered.status_code == 200, answered.text
    assert answered.json()["result"]["protocolVersion"] == "2025-06-18"

    listed = admin("GET", f"/integrated-account/{account['id']}/mcp")
    assert listed.status_code == 200
    entries = listed.json()["data"]
    assert [e["id"] for e in entries] == [server["id"]]
    assert entries[0].get("url") is None and "token" not in entries[0]
    assert token not in listed.text

    revoked = admin("DELETE", f"/integrated-account/{account['id']}/mcp/{server['id']}")
    assert revoked.status_code == 204 and revoked.content == b""
    gone = initialize(server["url"])
    assert gone.status_code == 404
    assert admin("GET", f"/integrated-account/{account['id']}/mcp").json()["data"] == []
    assert_error(admin("DELETE", f"/integrated-account/{account['id']}/mcp/{server['id']}"), 404)

    api = admin("POST", "/api-token")
    assert api.status_code == 201, api.text
    assert set(api.json()) == {"id", "token"}
    SEEN_SECRETS.append(api.json()["token"])

    for body in admin.bodies:
        assert API_KEY not in body


def test_deleting_an_account_deletes_its_servers(running: RunningServer, admin: Admin) -> None:
    created = admin("POST", "/integrated-account", json={"name": "leaving", "stripe_api_key": API_KEY})
    assert created.status_code == 201
    account = created.json()["id"]
    url = admin(
        "POST", f"/integrated-account/{account}/mcp", json={"name": "s", "config": {"methods": ["read"]}}
    ).json()["url"]
    SEEN_SECRETS.append(url.rsplit("/", 1)[1])
    assert initialize(url).status_code == 200
    assert admin("DELETE", f"/integrated-account/{account}").status_code == 204
    assert account not in [a["id"] for a in admin("GET", "/integrated-account").json()["data"]]
    assert_error(admin("GET", f"/integrated-account/{account}/mcp"), 404)
    deadline = time.monotonic() + 2.0  # the resolve cache of other replicas holds 0.5 s
    while initialize(url).status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_deleting_an_account_stops_its_servers_at_once(running: RunningServer, admin: Admin) -> None:
    created = admin("POST", "/integrated-account", json={"name": "leaving-now", "stripe_api_key": API_KEY})
    account = created.json()["id"]
    url = admin(
        "POST", f"/integrated-account/{account}/mcp", json={"name": "s", "config": {"methods": ["read"]}}
    ).json()["url"]
    SEEN_SECRETS.append(url.rsplit("/", 1)[1])
    assert initialize(url).status_code == 200  # now in this process's resolve cache
    assert admin("DELETE", f"/integrated-account/{account}").status_code == 204
    assert initialize(url).status_code == 404


def test_tool_count_warning(admin: Admin, account_id: str) -> None:
    everything = admin("POST", f"/integrated-account/{account_id}/mcp", json={"name": "everything"})
    assert everything.status_code == 201, everything.text
    SEEN_SECRETS.append(everything.json()["url"].rsplit("/", 1)[1])
    assert any("128" in warning for warning in everything.json().get("warnings", [])), everything.json()

    narrow = admin(
        "POST",
        f"/integrated-account/{account_id}/mcp",
        json={"name": "narrow", "config": {"methods": ["read"], "tags": ["disputes"]}},
    )
    assert narrow.status_code == 201, narrow.text
    SEEN_SECRETS.append(narrow.json()["url"].rsplit("/", 1)[1])
    assert narrow.json().get("warnings", []) == []


# --------------------------------------------------------------------------- authorization


def guarded_routes(account: str) -> list[tuple[str, str]]:
    return [
        ("POST", "/integrated-account"),
        ("GET", "/integrated-account"),
        ("DELETE", f"/integrated-account/{account}"),
        ("POST", f"/integrated-account/{account}/mcp"),
        ("GET", f"/integrated-account/{account}/mcp"),
        ("DELETE", f"/integrated-account/{account}/mcp/srv_x"),
        ("POST", "/api-token"),
        ("GET", "/api-token"),
        ("DELETE", "/api-token/tok_x"),
    ]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {ADMIN_TOKEN}", "Bearer", ADMIN_TOKEN])
def test_missing_or_wrong_admin_token_is_401(
    running: RunningServer, admin: Admin, account_id: str, authorization: str | None
) -> None:
    before = snapshot(admin, account_id)
    headers = {"authorization": authorization} if authorization is not None else {}
    for method, path in guarded_routes(account_id):
        body = {"name": "x", "stripe_api_key": API_KEY} if method == "POST" else None
        response = httpx.request(method, running.base_url + path, json=body, headers=headers, timeout=10.0)
        assert_error(response, 401)
    assert snapshot(admin, account_id) == before


def test_admin_api_closed_without_admin_token(tmp_path: Path) -> None:
    env = {
        "STRIPE_MCP_ADMIN_TOKEN": "",
        "STRIPE_MCP_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "STRIPE_API_KEY": "",
    }
    with serve(tmp_path, "--store", f"sqlite:///{tmp_path / 'store.sqlite3'}", env=env) as closed:
        for method, path in guarded_routes("acct_x"):
            for headers in ({}, {"authorization": f"Bearer {ADMIN_TOKEN}"}, {"authorization": "Bearer"}):
                body = {"name": "x", "stripe_api_key": API_KEY} if method == "POST" else None
                response = httpx.request(method, closed.base_url + path, json=body, headers=headers, timeout=10.0)
                assert_error(response, 403)
        # The OpenAPI description stays readable.
        assert httpx.get(closed.base_url + "/openapi.json", timeout=10.0).status_code == 200


# --------------------------------------------------------------------------- bad input


def snapshot(admin: Admin, account_id: str) -> tuple[Any, Any]:
    accounts = admin("GET", "/integrated-account")
    servers = admin("GET", f"/integrated-account/{account_id}/mcp")
    assert accounts.status_code == 200 and servers.status_code == 200
    return accounts.json(), servers.json()


ONE_MB = b'{"name": "' + b"x" * (1024 * 1024) + b'", "stripe_api_key": "sk_test_abcdefgh"}'

ACCOUNT_CASES: dict[str, tuple[dict[str, Any], int]] = {
    "name not a string": ({"json": {"name": 5, "stripe_api_key": API_KEY}}, 400),
    "key not a string": ({"json": {"name": "x", "stripe_api_key": 123456789}}, 400),
    "unknown field": ({"json": {"name": "x", "stripe_api_key": API_KEY, "livemode": True}}, 400),
    "publishable key": ({"json": {"name": "x", "stripe_api_key": "pk_test_AdminApiSecretKey9876"}}, 400),
    "not a key": ({"json": {"name": "x", "stripe_api_key": "sk_test_has spaces!"}}, 400),
    "missing name": ({"json": {"stripe_api_key": API_KEY}}, 400),
    "blank name": ({"json": {"name": "   ", "stripe_api_key": API_KEY}}, 400),
    "missing key": ({"json": {"name": "x"}}, 400),
    "empty body": ({"content": b"", "headers": {"content-type": "application/json"}}, 400),
    "array body": ({"json": [{"name": "x", "stripe_api_key": API_KEY}]}, 400),
    "null body": ({"content": b"null", "headers": {"content-type": "application/json"}}, 400),
    "broken json": ({"content": b'{"name": "x", ', "headers": {"content-type": "application/json"}}, 400),
    "not utf-8": ({"content": b'{"name": "\xff\xfe"}', "headers": {"content-type": "application/json"}}, 400),
    "form": ({"data": {"name": "x", "stripe_api_key": API_KEY}}, 415),
    "multipart": ({"files": {"name": (None, "x"), "stripe_api_key": (None, API_KEY)}}, 415),
    "broken json labelled text/plain": ({"content": b'{"name": "x", ', "headers": {"content-type": "text/plain"}}, 415),
    "1 MB body": ({"content": ONE_MB, "headers": {"content-type": "application/json"}}, 413),
    "1 MB chunked body": (
        {
            "content": iter([ONE_MB[i : i + 65536] for i in range(0, len(ONE_MB), 65536)]),
            "headers": {"content-type": "application/json"},
        },
        413,
    ),
}


@pytest.mark.parametrize("case", list(ACCOUNT_CASES), ids=list(ACCOUNT_CASES))
def test_bad_account_input(admin: Admin, account_id: str, case: str) -> None:
    before = snapshot(admin, account_id)
    request, status = ACCOUNT_CASES[case]
    assert_error(admin("POST", "/integrated-account", **request), status)
    assert snapshot(admin, account_id) == before


SERVER_CASES: dict[str, tuple[dict[str, Any], int]] = {
    "expires_at in the past": ({"json": {"name": "s", "expires_at": in_minutes(-5)}}, 400),
    "expires_at 30 s ahead": ({"json": {"name": "s", "expires_at": in_minutes(0.5)}}, 400),
    "expires_at without time zone": ({"json": {"name": "s", "expires_at": "2099-12-01T00:00:00"}}, 400),
    "expires_at not a date": ({"json": {"name": "s", "expires_at": "next tuesday"}}, 400),
    "unknown method": ({"json": {"name": "s", "config": {"methods": ["fetch"]}}}, 400),
    "unknown tag": ({"json": {"name": "s", "config": {"tags": ["no-such-tag"]}}}, 400),
    "filter leaves zero tools": ({"json": {"name": "s", "config": {"methods": ["delete"], "tags": ["disputes"]}}}, 400),
    "methods not a list": ({"json": {"name": "s", "config": {"methods": "read"}}}, 400),
    "tags not strings": ({"json": {"name": "s", "config": {"tags": [1, 2]}}}, 400),
    "auth flag not a boolean": ({"json": {"name": "s", "config": {"require_api_token_auth": "maybe"}}}, 400),
    "auth flag as the string yes": ({"json": {"name": "s", "config": {"require_api_token_auth": "yes"}}}, 400),
    "auth flag as the number 1": ({"json": {"name": "s", "config": {"require_api_token_auth": 1}}}, 400),
    "config not an object": ({"json": {"name": "s", "config": ["read"]}}, 400),
    "unknown tool_exposure": ({"json": {"name": "s", "config": {"tool_exposure": "some"}}}, 400),
    "unknown config field": ({"json": {"name": "s", "config": {"methods": ["read"], "colour": "red"}}}, 400),
    "unknown top-level field": ({"json": {"name": "s", "token": "mine"}}, 400),
    "missing name": ({"json": {"config": {"methods": ["read"]}}}, 400),
    "name not a string": ({"json": {"name": ["s"]}}, 400),
    "broken json": ({"content": b"{'name': 's'}", "headers": {"content-type": "application/json"}}, 400),
    "form": ({"data": {"name": "s"}}, 415),
    "1 MB body": ({"content": ONE_MB, "headers": {"content-type": "application/json"}}, 413),
}


@pytest.mark.parametrize("case", list(SERVER_CASES), ids=list(SERVER_CASES))
def test_bad_server_input(admin: Admin, account_id: str, case: str) -> None:
    before = snapshot(admin, account_id)
    request, status = SERVER_CASES[case]
    assert_error(admin("POST", f"/integrated-account/{account_id}/mcp", **request), status)
    assert snapshot(admin, account_id) == before


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "application/octet-stream"]
)
def test_a_json_body_is_read_whatever_its_content_type_says(admin: Admin, account_id: str, content_type: str) -> None:
    """`curl -d '{...}'` labels its JSON as a form: the body parses as JSON, so it is read as JSON."""
    headers = {"content-type": content_type}
    body = json.dumps({"name": f"labelled {content_type}", "stripe_api_key": API_KEY}).encode()
    created = admin("POST", "/integrated-account", content=body, headers=headers)
    assert created.status_code == 201, created.text
    server = admin("POST", f"/integrated-account/{account_id}/mcp", content=b'{"name": "curl -d"}', headers=headers)
    assert server.status_code == 201, server.text
    assert admin("DELETE", f"/integrated-account/{created.json()['id']}").status_code == 204
    assert admin("DELETE", f"/integrated-account/{account_id}/mcp/{server.json()['id']}").status_code == 204


def test_unknown_account_is_404(admin: Admin, account_id: str) -> None:
    before = snapshot(admin, account_id)
    assert_error(admin("POST", "/integrated-account/acct_doesnotexist/mcp", json={"name": "s"}), 404)
    assert_error(admin("GET", "/integrated-account/acct_doesnotexist/mcp"), 404)
    assert_error(admin("DELETE", "/integrated-account/acct_doesnotexist/mcp/srv_x"), 404)
    assert_error(admin("DELETE", "/integrated-account/acct_doesnotexist"), 404)
    assert_error(admin("DELETE", f"/integrated-account/{account_id}/mcp/srv_doesnotexist"), 404)
    assert snapshot(admin, account_id) == before


# --------------------------------------------------------------------------- OpenAPI and the log


def test_openapi_document(running: RunningServer) -> None:
    response = httpx.get(running.base_url + "/openapi.json", timeout=10.0)
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    try:
        from openapi_spec_validator import validate
    except ImportError:  # structural checks only
        assert {"info", "paths", "components"} <= set(document)
        for path_item in document["paths"].values():
            for operation in path_item.values():
                assert "responses" in operation and operation["responses"]
    else:
        validate(document)

    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    admin_routes = {
        (method, route.path)
        for route in AdminApi(lambda: None, "x").routes()
        if route.path != "/openapi.json"
        for method in route.methods - {"HEAD"}
    }
    assert admin_routes <= documented, admin_routes - documented
    # With listing and revoking API tokens, the approvals (list, approve, deny), and GET and DELETE of an OAuth
    # server's clients.
    assert len(admin_routes) == 14


def test_provisioning_logs_one_line_per_change(running: RunningServer, admin: Admin) -> None:
    """As the console does: by now the flows above added, revoked and removed through the admin API."""
    events = [json.loads(line)["event"] for line in running.printed.splitlines() if line.startswith('{"time"')]
    for change in ("account added", "account removed", "MCP server created", "MCP server revoked", "API token created"):
        assert f"admin API: {change}" in events, change


def test_log_holds_no_secret(running: RunningServer, admin: Admin) -> None:
    # Runs last: by now every flow above has gone through this process.
    assert len(SEEN_SECRETS) >= 4
    printed = running.printed
    for secret in SEEN_SECRETS:
        assert secret not in printed
    assert ADMIN_TOKEN not in printed
    for body in admin.bodies:
        assert API_KEY not in body
