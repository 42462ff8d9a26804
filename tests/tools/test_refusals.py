"""A tool outside a server's filters is refused in words an agent can pass on, not as an unknown tool.

An agent told "Unknown tool: create_a_stripe_refund" tells its user there is no refund tool. The refusal says
what is true (this server does not allow it, and why: read-only, another kind, other functional areas) and
what to do (ask an admin for another URL), and nothing reaches Stripe.
"""

from __future__ import annotations

import pytest

from stripe_mcp.mcp.jsonrpc import JsonRpcError
from stripe_mcp.stripe_api.client import Upstream
from stripe_mcp.tools.discovery import DiscoveryServer, SearchIndex
from stripe_mcp.tools.filters import validate_filter
from stripe_mcp.tools.registry import Registry
from stripe_mcp.tools.server import Account, StripeMcpServer
from tests.support.fakes import FakeStripe

REGISTRY = Registry()
REFUND = {"charge": "ch_1", "amount": 1500}


def server(base_url: str, methods: list[str], tags: list[str]) -> StripeMcpServer:
    account = Account("sk_test_refusals_0123456789", REGISTRY.api_version)
    return StripeMcpServer(REGISTRY, Upstream(base_url), account, validate_filter(REGISTRY, methods, tags))


@pytest.mark.parametrize(
    ("methods", "tags", "tool", "why", "ask"),
    [
        (["read"], [], "create_a_stripe_refund", "it is read-only", "a write-enabled MCP URL"),
        (["list"], [], "get_single_stripe_customer_by_id", "it does not allow get tools", "an MCP URL whose server"),
        ([], ["disputes"], "create_a_stripe_refund", "it is limited to other functional areas", "an MCP URL whose"),
    ],
)
async def test_a_filtered_out_tool_is_refused_saying_why(
    fake_stripe: FakeStripe, methods: list[str], tags: list[str], tool: str, why: str, ask: str
) -> None:
    with pytest.raises(JsonRpcError) as refused:
        await server(fake_stripe.base_url, methods, tags).call_tool(tool, REFUND)
    assert refused.value.code == -32602
    message = refused.value.message
    assert message.startswith(f"This MCP server does not allow {tool}: {why}. Nothing was sent to Stripe; ")
    assert f"ask an admin for {ask}" in message
    assert "Unknown tool" not in message
    assert fake_stripe.requests == []


async def test_a_tool_that_does_not_exist_is_still_unknown(fake_stripe: FakeStripe) -> None:
    with pytest.raises(JsonRpcError) as unknown:
        await server(fake_stripe.base_url, ["read"], []).call_tool("create_a_stripe_refnd", REFUND)
    assert unknown.value.message == "Unknown tool: create_a_stripe_refnd. Call tools/list for the tools of this server."


async def test_discovery_refuses_in_the_same_words(fake_stripe: FakeStripe) -> None:
    discovery = DiscoveryServer(server(fake_stripe.base_url, ["read"], []), SearchIndex(REGISTRY))
    called = await discovery.call_tool("call_tool", {"tool_name": "create_a_stripe_refund", "arguments": REFUND})
    assert called.result["isError"] is True
    assert called.result["structuredContent"]["error"].startswith(
        "This MCP server does not allow create_a_stripe_refund: it is read-only."
    )
    with pytest.raises(JsonRpcError) as direct:
        await discovery.call_tool("create_a_stripe_refund", REFUND)
    assert direct.value.message == called.result["structuredContent"]["error"]
    assert fake_stripe.requests == []
