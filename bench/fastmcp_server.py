"""FastMCP's `FastMCP.from_openapi` on Stripe's spec, for bench/serve.py to compare against. Runs in a venv of its own
(`pip install fastmcp==4.2.3`, made by the benchmark); nothing of FastMCP is part of this project.

    python fastmcp_server.py SPEC_JSON UPSTREAM_URL PORT API_KEY STRIPE_VERSION

Serves Streamable HTTP at http://127.0.0.1:PORT/mcp/ with JSON answers (as stripe-mcp answers), every operation of
the spec a tool, each call sent to UPSTREAM_URL with the key and version headers stripe-mcp sends.
"""

from __future__ import annotations

import json
import sys

import httpx2
from fastmcp import FastMCP


def main() -> None:
    spec_path, upstream, port, api_key, version = sys.argv[1:6]
    with open(spec_path, encoding="utf-8") as file:
        spec = json.load(file)
    client = httpx2.AsyncClient(
        base_url=upstream,
        headers={"Authorization": f"Bearer {api_key}", "Stripe-Version": version},
        timeout=30.0,
    )
    server = FastMCP.from_openapi(openapi_spec=spec, client=client, name="fastmcp-stripe")
    server.run(transport="http", host="127.0.0.1", port=int(port), show_banner=False, json_response=True)


if __name__ == "__main__":
    main()
