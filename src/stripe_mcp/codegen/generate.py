"""The build step: spec -> model -> tools -> files, swapped into place whole or not at all."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stripe_mcp.codegen.formatting import format_python
from stripe_mcp.codegen.loader import load_api
from stripe_mcp.codegen.render import render
from stripe_mcp.codegen.stripe import build_tools
from stripe_mcp.codegen.toolchain import check_pins


@dataclass(frozen=True)
class Generation:
    files: dict[str, str]
    tool_count: int
    api_version: str
    seconds: float


def generate_files(
    spec: Path, on_start: Callable[[int], None] = lambda n: None, on_done: Callable[[int], None] = lambda n: None
) -> Generation:
    started = time.perf_counter()
    check_pins()
    api = load_api(spec)
    tools = build_tools(api)
    on_start(len(tools))
    files = format_python(render(tools, api.version, api.source_sha256, on_done, api.objects))
    return Generation(files, len(tools), api.version, time.perf_counter() - started)


def write_tree(files: dict[str, str], out: Path) -> None:
    """Write into a sibling temporary folder, then swap it in: a failure leaves `out` as it was."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        for relative, text in files.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        if out.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            out.rename(retired / out.name)
            staging.rename(out)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def stale_files(files: dict[str, str], out: Path) -> list[str]:
    """Paths under `out` that differ from `files`: changed, missing or not generated any more."""
    present = (
        {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
        if out.is_dir()
        else set()
    )
    stale = [
        path for path, text in files.items() if path not in present or (out / path).read_text(encoding="utf-8") != text
    ]
    stale += sorted(present - files.keys())
    return sorted(stale)
