"""Bytes saved by lean results (nulls and empty collections dropped) on Stripe's own fixture objects.

Run: python bench/lean.py [../shared/specs/stripe/fixtures3.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from stripe_mcp.tools.results import lean_result

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "specs" / "stripe" / "fixtures3.json"


def size(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def main() -> None:
    fixtures = json.loads(Path(sys.argv[1] if len(sys.argv) > 1 else DEFAULT).read_text())["resources"]
    rows = []
    for name, obj in sorted(fixtures.items()):
        if isinstance(obj, dict):
            rows.append((name, size(obj), size(lean_result(obj))))
    full = sum(r[1] for r in rows)
    lean = sum(r[2] for r in rows)
    print(f"{len(rows)} fixture objects: {full} bytes full, {lean} bytes lean, {100 * (full - lean) / full:.0f}% saved")
    for name in ("customer", "charge", "payment_intent", "subscription", "invoice", "dispute", "refund"):
        for row in rows:
            if row[0] == name:
                print(f"  {name:15} {row[1]:6} -> {row[2]:6} bytes ({100 * (row[1] - row[2]) / row[1]:.0f}% saved)")


if __name__ == "__main__":
    main()
