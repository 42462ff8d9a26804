"""The official MCP conformance suite (tests/mcp/conformance/run.sh) against the product and the toy server.

The product is a real `stripe-mcp serve` process serving the read-only server it prints for
STRIPE_API_KEY; the toy server isolates the transport from the Stripe tools.

Needs Node 22 and the suite in .ci/node/ (`.ci/install-conformance`). Skipped when they are
missing on a developer machine; a failure when the CI environment variable is set.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.mcp.conformance.toyserver import TOKEN, make_app, serve
from tests.support.paths import REPO
from tests.support.runtime_process import serve as product_server

NODE = REPO / ".ci" / "node" / "bin" / "node"
RUN = Path(__file__).resolve().parent / "conformance" / "run.sh"

pytestmark = pytest.mark.integration  # Node and the suite; the product run spawns `stripe-mcp serve`


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _run_suite(url: str) -> None:
    completed = subprocess.run(["bash", str(RUN), url], capture_output=True, text=True, timeout=600, cwd=REPO)
    print(completed.stdout)
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr[-2000:]


def _require_node() -> None:
    if not NODE.exists():
        message = ".ci/node is missing: run .ci/install-conformance"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)


def test_conformance_of_the_product(tmp_path: Path) -> None:
    _require_node()
    env = {"STRIPE_API_KEY": "sk_test_conformance_0000", "STRIPE_MCP_ENCRYPTION_KEY": ""}
    # No Stripe is needed: the suite lists tools and calls fixture tools a Stripe server does not have.
    with product_server(tmp_path, "--stripe-base-url", "http://127.0.0.1:9", env=env) as server:
        _run_suite(server.printed_mcp_url())


def test_conformance_of_the_transport_alone() -> None:
    _require_node()
    with serve(make_app()) as base:
        _run_suite(f"{base}/mcp/{TOKEN}")
