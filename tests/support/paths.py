"""Where the tests find the repository, the committed generated/ and the shared Stripe specs."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "stripe_mcp"
GENERATED = PACKAGE / "generated"
SHARED_SPECS = (REPO / ".." / "shared" / "specs" / "stripe").resolve()
SPEC = SHARED_SPECS / "spec3.yaml"
FIXTURES = SHARED_SPECS / "fixtures3.json"
OLD_SPEC = SHARED_SPECS / "history" / "spec3.2022-04-12.json"
