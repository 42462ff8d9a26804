"""The protocol revisions this server speaks, what each era advertises, and the `_meta` keys of 2026-07-28.

Two eras: the handshake eras (2024-11-05 .. 2025-11-25, `initialize` and sessions) and the
stateless 2026-07-28 era, where every request carries its version in `params._meta`.
"""

from __future__ import annotations

from typing import Any

from stripe_mcp.mcp.jsonrpc import UNSUPPORTED_VERSION, JsonRpcError

LEGACY_VERSIONS: tuple[str, ...] = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
MODERN_VERSIONS: tuple[str, ...] = ("2026-07-28",)
SUPPORTED_VERSIONS: tuple[str, ...] = LEGACY_VERSIONS + MODERN_VERSIONS
LATEST_LEGACY_VERSION = "2025-11-25"
SSE_VERSION = "2024-11-05"
BATCH_VERSION = "2025-03-26"  # the only revision that has JSON-RPC batches
DEFAULT_HEADER_VERSION = "2025-03-26"  # what a missing MCP-Protocol-Version header means
# The handshake revisions in which a server may send elicitation/create (it came with 2025-06-18).
ELICITATION_VERSIONS: tuple[str, ...] = ("2025-06-18", "2025-11-25")

HEADER_VERSION = "mcp-protocol-version"

META_PROTOCOL_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"

# Tools only: the other capabilities answer empty lists, so clients that insist on them still work.
LEGACY_CAPABILITIES: dict[str, dict[str, Any]] = {
    "tools": {},
    "resources": {},
    "prompts": {},
    "completions": {},
    "logging": {},
}
MODERN_CAPABILITIES: dict[str, dict[str, Any]] = {"tools": {}, "resources": {}, "prompts": {}, "completions": {}}


def is_modern(version: str) -> bool:
    return version not in LEGACY_VERSIONS


def unsupported_version(requested: str) -> JsonRpcError:
    return JsonRpcError(
        UNSUPPORTED_VERSION,
        "Unsupported protocol version",
        data={"supported": list(SUPPORTED_VERSIONS), "requested": requested},
        http_status=400,
    )
