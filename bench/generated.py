"""What generated/ costs: its size, the tools/list body it serves, and what importing tool modules takes.

    python bench/generated.py                  # the working tree against HEAD
    python bench/generated.py --before REV     # ... against another commit
    python bench/generated.py --runs 5 --write # median of 5 runs; write bench/results-generated.md

Each side is a whole `src/stripe_mcp` (runtime and generated/ together, so a side serves its own
tools/list): the working tree, and REV unpacked with `git archive` into a temporary folder. Every
figure but the folder size comes from a fresh subprocess whose PYTHONPATH starts with that side's
`src` and with PYTHONDONTWRITEBYTECODE=1 (as on this machine: every import compiles from source).

| figure | how |
|---|---|
| size | bytes and files under generated/ (no `__pycache__`); classes defined in its Python files, `Arguments` apart |
| tools/list body | `{"jsonrpc":"2.0","id":1,"result":{"tools":[...]}}` for all tools, as a 2025-06-18 session gets it (`Registry.tools_json`) |
| import | after `import stripe_mcp.tools.registry` and one small pydantic model built (as the server has): wall time and VmRSS growth, both cumulative, for importing 1 tool module (`get_single_stripe_customer_by_id`), then 23 more (every 20th tool), then the rest, all kept |
| registry | VmRSS growth after `Registry.module` of every tool in turn: the server after one call of each (the registry keeps 24 modules) |
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results-generated.md"
FIRST_TOOL = "get_single_stripe_customer_by_id"

PROBE = """
import importlib, json, sys, time
from pathlib import Path

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

class Warm(BaseModel):  # the server has built pydantic models (web/admin.py) before any tool module
    model_config = ConfigDict(extra="forbid")
    kind: Literal["a", "b"] | None = None
    name: Annotated[str | None, Field(max_length=5)] = None

import stripe_mcp
from stripe_mcp.tools.registry import Registry

registry = Registry()
names = sorted(registry.tools)
mode = sys.argv[1]
out = {"package": stripe_mcp.__file__}
if mode == "list":
    body = b'{"jsonrpc":"2.0","id":1,"result":{"tools":' + registry.tools_json(names) + b"}}"
    out["tools"] = len(names)
    out["body_bytes"] = len(body)
    out["comments"] = body.count(b'"$comment"')
elif mode == "import":
    first = sys.argv[2]
    spread = [n for n in names[::20] if n != first][:23]
    batches = [[first], spread, [n for n in names if n != first and n not in spread]]
    out["rss_base"] = rss()
    out["steps"] = []
    started = time.perf_counter()
    for batch in batches:
        for name in batch:
            importlib.import_module(f"stripe_mcp.generated.tools.{name}")
        out["steps"].append({"modules": len(batch), "seconds": time.perf_counter() - started, "rss": rss()})
elif mode == "registry":
    out["rss_base"] = rss()
    started = time.perf_counter()
    for name in names:
        registry.module(name)
    out["seconds"] = time.perf_counter() - started
    out["rss"] = rss()
print(json.dumps(out))
"""


def probe(src: Path, *args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if completed.returncode != 0:
        raise SystemExit(f"probe {args} failed under {src}:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout)
    if not result["package"].startswith(str(src)):
        raise SystemExit(f"probe imported {result['package']}, not the side under {src}")
    return result


def folder_figures(generated: Path) -> dict[str, Any]:
    files = [p for p in generated.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    classes = nested = 0
    longest = 0
    for path in files:
        if path.suffix != ".py":
            continue
        text = path.read_text(encoding="utf-8")
        longest = max([longest, *(len(line) for line in text.splitlines())])
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                classes += 1
                nested += node.name != "Arguments"
    return {
        "bytes": sum(p.stat().st_size for p in files),
        "files": len(files),
        "classes": classes,
        "nested": nested,
        "longest_line": longest,
    }


def side_figures(src: Path, runs: int) -> dict[str, Any]:
    figures = folder_figures(src / "stripe_mcp" / "generated")
    figures["list"] = probe(src, "list")
    imports = [probe(src, "import", FIRST_TOOL) for _ in range(runs)]
    registries = [probe(src, "registry") for _ in range(runs)]

    def median(values: list[float]) -> float:
        return statistics.median(values)

    figures["import"] = [
        {
            "modules": imports[0]["steps"][i]["modules"],
            "seconds": median([r["steps"][i]["seconds"] for r in imports]),
            "rss_growth": median([r["steps"][i]["rss"] - r["rss_base"] for r in imports]),
        }
        for i in range(3)
    ]
    figures["rss_base"] = median([r["rss_base"] for r in imports])
    figures["registry"] = {
        "seconds": median([r["seconds"] for r in registries]),
        "rss_growth": median([r["rss"] - r["rss_base"] for r in registries]),
    }
    return figures


def unpack(rev: str, into: Path) -> Path:
    archive = into / "side.tar"
    with archive.open("wb") as sink:
        subprocess.run(["git", "-C", str(REPO), "archive", rev, "src/stripe_mcp"], stdout=sink, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def table(before: dict[str, Any], after: dict[str, Any], labels: tuple[str, str]) -> str:
    def row(name: str, old: str, new: str) -> str:
        return f"| {name} | {old} | {new} |"

    lines = [f"| figure | {labels[0]} | {labels[1]} |", "|---|---:|---:|"]
    lines.append(row("generated/ bytes", f"{before['bytes']:,}", f"{after['bytes']:,}"))
    lines.append(row("generated/ files", f"{before['files']:,}", f"{after['files']:,}"))
    lines.append(row("classes defined (besides `Arguments`)", f"{before['nested']:,}", f"{after['nested']:,}"))
    lines.append(
        row("longest generated Python line (chars)", f"{before['longest_line']:,}", f"{after['longest_line']:,}")
    )
    lines.append(
        row(
            f"tools/list body, {after['list']['tools']} tools (B)",
            f"{before['list']['body_bytes']:,}",
            f"{after['list']['body_bytes']:,}",
        )
    )
    lines.append(
        row("`$comment` members in that body", str(before["list"]["comments"]), str(after["list"]["comments"]))
    )
    lines.append(row("RSS before any tool module (MB)", f"{before['rss_base']:.1f}", f"{after['rss_base']:.1f}"))
    total_old = total_new = 0
    for old, new in zip(before["import"], after["import"], strict=True):
        total_old += old["modules"]
        total_new += new["modules"]
        label = "1 tool module" if total_new == 1 else f"{total_new} tool modules"
        lines.append(
            row(
                f"import {label}: time (ms) / RSS growth (MB)",
                f"{old['seconds'] * 1000:.0f} / {old['rss_growth']:.1f}",
                f"{new['seconds'] * 1000:.0f} / {new['rss_growth']:.1f}",
            )
        )
    lines.append(
        row(
            "`Registry.module` of every tool (24 kept): time (s) / RSS growth (MB)",
            f"{before['registry']['seconds']:.2f} / {before['registry']['rss_growth']:.1f}",
            f"{after['registry']['seconds']:.2f} / {after['registry']['rss_growth']:.1f}",
        )
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--before", default="HEAD", help="the commit to compare with (default HEAD)")
    parser.add_argument("--runs", type=int, default=3, help="import measurements per side (median)")
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS.relative_to(REPO)}")
    options = parser.parse_args()
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", options.before], capture_output=True, text=True, check=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="stripe-mcp-bench-generated-") as folder:
        before = side_figures(unpack(options.before, Path(folder)), options.runs)
    after = side_figures(REPO / "src", options.runs)
    head = (
        f"# generated/ benchmark ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()})\n\n`python bench/generated.py --before {options.before} "
        f"--runs {options.runs}`; import figures are medians of {options.runs} fresh processes.\n"
    )
    text = head + "\n" + table(before, after, (f"before ({commit})", "after (working tree)")) + "\n"
    print(text)
    if options.write:
        RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
