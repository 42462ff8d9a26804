"""Tool snapshots: every tool's name, kind, endpoint, description, annotations, tags and input JSON Schema.

A snapshot comes from a spec (`snapshot_from_spec`: the loader and the Stripe conventions, exactly
what `generate` would render) or from a generated/ folder (`snapshot_from_generated`: manifest.json
plus schemas/<tool>.json). stripe_mcp.codegen.diff compares two of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stripe_mcp.codegen.loader import SpecError, load_api
from stripe_mcp.codegen.stripe import ConventionError, build_tools
from stripe_mcp.codegen.tool import Tool


@dataclass(frozen=True)
class ToolSnapshot:
    name: str
    kind: str
    method: str
    path: str
    description: str
    annotations: dict[str, Any]
    tags: tuple[str, ...]
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    source: str
    origin: str  # "spec" or "generated"
    api_version: str
    tools: dict[str, ToolSnapshot]


def snapshot_from_tools(tools: Iterable[Tool], api_version: str, source: str, origin: str = "spec") -> Snapshot:
    """From stripe_mcp.codegen.stripe.Tool objects (build_tools)."""
    snapshots = {}
    for tool in tools:
        snapshots[tool.name] = ToolSnapshot(
            name=tool.name,
            kind=tool.kind,
            method=tool.method,
            path=tool.path,
            description=tool.description,
            annotations=dict(tool.annotations),
            tags=tuple(tool.tags),
            input_schema=_plain(tool.input_schema),
        )
    return Snapshot(source, origin, api_version, dict(sorted(snapshots.items())))


def snapshot_from_spec(path: Path | str) -> Snapshot:
    """What `stripe-mcp generate --spec PATH` would render, as a snapshot."""
    api = load_api(path)
    try:
        tools = build_tools(api)
    except ConventionError as exc:
        raise SpecError(path, "", f"the Stripe naming rules cannot make its tools ({exc})") from None
    return snapshot_from_tools(tools, api.version, str(path), "spec")


def snapshot_from_generated(folder: Path | str) -> Snapshot:
    """A generated/ folder: manifest.json for the tools, schemas/<tool>.json for their arguments."""
    folder = Path(folder)
    manifest = _read_json(folder, "manifest.json")
    if not isinstance(manifest, dict) or not isinstance(manifest.get("tools"), list):
        raise SpecError(folder, "manifest.json", "not a stripe-mcp manifest (no 'tools' list)")
    snapshots = {}
    for i, entry in enumerate(manifest["tools"]):
        try:
            name = entry["name"]
            schema = _read_json(folder, f"schemas/{name}.json")
            if not isinstance(schema, dict):
                raise SpecError(folder, f"schemas/{name}.json", "not a JSON object")
            schema.pop("$comment", None)
            snapshots[name] = ToolSnapshot(
                name=name,
                kind=entry["kind"],
                method=entry["method"],
                path=entry["path"],
                description=entry.get("description", ""),
                annotations=dict(entry.get("annotations") or {}),
                tags=tuple(entry.get("tags") or ()),
                input_schema=schema,
            )
        except (KeyError, TypeError) as exc:
            raise SpecError(folder, f"manifest.json tools[{i}]", f"missing or malformed field {exc}") from None
    return Snapshot(str(folder), "generated", str(manifest.get("api_version", "")), dict(sorted(snapshots.items())))


def load_snapshot(path: Path | str) -> Snapshot:
    """A spec file (JSON or YAML) or a generated/ folder (it holds manifest.json and schemas/)."""
    path = Path(path)
    if path.is_dir():
        if not (path / "manifest.json").is_file():
            raise SpecError(
                path,
                "",
                "is a folder but not a generated/ folder (no manifest.json): give a spec file or a generated/ folder",
            )
        return snapshot_from_generated(path)
    return snapshot_from_spec(path)


def _read_json(folder: Path, relative: str) -> Any:
    path = folder / relative
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(folder, relative, "missing") from None
    except json.JSONDecodeError as exc:
        raise SpecError(
            folder, f"{relative} line {exc.lineno} column {exc.colno}", f"not valid JSON ({exc.msg})"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(folder, relative, f"cannot be read ({exc})") from None


def _plain(value: Any) -> Any:
    """Tuples as lists, as a JSON round trip would give them."""
    return json.loads(json.dumps(value))
