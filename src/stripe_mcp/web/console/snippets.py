"""How to connect a client to a new server: the lines shown once, beside its URL, ready to copy."""

from __future__ import annotations

import json
from typing import Any


def snippets(url: str, config: dict[str, Any]) -> dict[str, str]:
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
