"""What a spec update changes for agents: a diff of two tool sets, for a pull-request body or a CI job.

Both sides are a *tool snapshot* (`Snapshot`): every tool's name, kind, endpoint, description,
annotations, tags and input JSON Schema. A snapshot comes from a spec (`snapshot_from_spec`: the
loader and the Stripe conventions, exactly what `generate` would render) or from a generated/ folder
(`snapshot_from_generated`: manifest.json plus schemas/<tool>.json). Everything else here is a pure
function over snapshots.

Each change is `breaking` when it removes or narrows what an agent could send (a tool removed, an
argument removed or newly required, an enum value or anyOf branch removed, a type narrowed or
changed, a tighter constraint) or when it takes a tool away from filtered servers (kind changed, a
tag removed); anything else is `additive`.

JSON report (`render_json`), format "stripe-mcp-diff/1"; keys always present, in this order:

    {
      "format": "stripe-mcp-diff/1",
      "old": {"source": str, "origin": "spec" | "generated", "api_version": str, "tool_count": int},
      "new": {... the same ...},
      "summary": {"tools_added": int, "tools_removed": int, "tools_changed": int,
                  "tools_unchanged": int, "breaking": int, "additive": int},
      "tools_added":   [{"name", "kind", "method", "path"}, ...],   # sorted by name
      "tools_removed": [{"name", "kind", "method", "path"}, ...],   # sorted by name
      "tools_changed": [name, ...],                                 # sorted; present in both, any change
      "changes": [                                                  # by tool name, then as found
        {"tool": str, "change": one of CHANGE_KINDS, "severity": "breaking" | "additive",
         "argument": "name" | "name.nested" | "name[]" | null, "detail": str, "old": any, "new": any}
      ]
    }

`argument` is a path into the tool's arguments: `a.b` is property b of object argument a, `a[]` the
items of array argument a, `a{}` its additionalProperties; anyOf branches are matched by type and
do not appear in the path. `breaking` + `additive` counts every record of `changes`, including the
tool_added and tool_removed records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stripe_mcp.codegen.loader import SpecError

FORMAT = "stripe-mcp-diff/1"
BREAKING = "breaking"
ADDITIVE = "additive"
CHANGE_KINDS = (
    "tool_added",
    "tool_removed",
    "kind_changed",
    "endpoint_changed",
    "argument_added",
    "argument_removed",
    "required_changed",
    "type_changed",
    "enum_changed",
    "anyof_changed",
    "constraint_changed",
    "argument_description_changed",
    "description_changed",
    "annotations_changed",
    "tags_changed",
)
FOLD_OVER = 10
"""Markdown lists longer than this are folded in <details>."""
PR_BODY_LIMIT = 65536
"""GitHub refuses a pull-request body longer than this many characters."""

# Keywords whose bigger value accepts more (max*) or less (min*).
_UPPER_BOUNDS = {"maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties"}
_LOWER_BOUNDS = {"minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties"}
_COMBINATORS = ("anyOf", "oneOf")


# Snapshots ----------------------------------------------------------------------------------------


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


def snapshot_from_tools(tools: Iterable[Any], api_version: str, source: str, origin: str = "spec") -> Snapshot:
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
    from stripe_mcp.codegen.loader import load_api
    from stripe_mcp.codegen.stripe import ConventionError, build_tools

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


# Changes ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    tool: str
    change: str
    severity: str
    detail: str
    argument: str | None = None
    old: Any = None
    new: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "change": self.change,
            "severity": self.severity,
            "argument": self.argument,
            "detail": self.detail,
            "old": self.old,
            "new": self.new,
        }


@dataclass
class DiffReport:
    old: Snapshot
    new: Snapshot
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        return len(set(self.old.tools) & set(self.new.tools)) - len(self.changed)

    def count(self, severity: str) -> int:
        return sum(1 for c in self.changes if c.severity == severity)

    def changes_of(self, tool: str) -> list[Change]:
        return [c for c in self.changes if c.tool == tool]


def diff_snapshots(old: Snapshot, new: Snapshot) -> DiffReport:
    report = DiffReport(old, new)
    for name in sorted(old.tools.keys() | new.tools.keys()):
        if name not in new.tools:
            tool = old.tools[name]
            report.removed.append(name)
            report.changes.append(Change(name, "tool_removed", BREAKING, f"tool removed ({tool.method} {tool.path})"))
        elif name not in old.tools:
            tool = new.tools[name]
            report.added.append(name)
            report.changes.append(Change(name, "tool_added", ADDITIVE, f"tool added ({tool.method} {tool.path})"))
        else:
            changes = compare_tools(old.tools[name], new.tools[name])
            if changes:
                report.changed.append(name)
                report.changes.extend(changes)
    return report


def diff_paths(old: Path | str, new: Path | str) -> DiffReport:
    return diff_snapshots(load_snapshot(old), load_snapshot(new))


def compare_tools(old: ToolSnapshot, new: ToolSnapshot) -> list[Change]:
    name = new.name
    changes: list[Change] = []
    if old.kind != new.kind:
        changes.append(
            Change(
                name,
                "kind_changed",
                BREAKING,
                f"kind {old.kind} → {new.kind} (servers filtered by kind may lose it)",
                None,
                old.kind,
                new.kind,
            )
        )
    if (old.method, old.path) != (new.method, new.path):
        changes.append(
            Change(
                name,
                "endpoint_changed",
                ADDITIVE,
                f"endpoint {old.method} {old.path} → {new.method} {new.path}",
                None,
                f"{old.method} {old.path}",
                f"{new.method} {new.path}",
            )
        )
    changes += [Change(name, *c) for c in compare_schemas(old.input_schema, new.input_schema, "")]
    if old.description != new.description:
        changes.append(
            Change(
                name,
                "description_changed",
                ADDITIVE,
                "tool description changed",
                None,
                old.description,
                new.description,
            )
        )
    if old.annotations != new.annotations:
        keys = sorted(old.annotations.keys() | new.annotations.keys())
        parts = [
            f"{k}: {_short(old.annotations.get(k))} → {_short(new.annotations.get(k))}"
            for k in keys
            if old.annotations.get(k) != new.annotations.get(k)
        ]
        changes.append(
            Change(
                name,
                "annotations_changed",
                ADDITIVE,
                "annotations " + "; ".join(parts),
                None,
                old.annotations,
                new.annotations,
            )
        )
    removed_tags = [t for t in old.tags if t not in new.tags]
    added_tags = [t for t in new.tags if t not in old.tags]
    if removed_tags:
        changes.append(
            Change(
                name,
                "tags_changed",
                BREAKING,
                f"tags removed: {_names(removed_tags)} (servers filtered by them lose this tool)",
                None,
                list(old.tags),
                list(new.tags),
            )
        )
    if added_tags:
        changes.append(
            Change(
                name,
                "tags_changed",
                ADDITIVE,
                f"tags added: {_names(added_tags)}",
                None,
                list(old.tags),
                list(new.tags),
            )
        )
    if not removed_tags and not added_tags and old.tags != new.tags:
        changes.append(Change(name, "tags_changed", ADDITIVE, "tags reordered", None, list(old.tags), list(new.tags)))
    return changes


# A schema change before it knows its tool: (change, severity, detail, argument, old, new).
_Found = tuple


def compare_schemas(old: dict[str, Any], new: dict[str, Any], where: str) -> list[_Found]:
    """Every difference between two argument schemas (or two tools' input schemas, at where="")."""
    found: list[_Found] = []
    old, new = dict(old), dict(new)
    label = where or None

    old_description, new_description = old.pop("description", None), new.pop("description", None)
    if old_description != new_description and where:
        found.append(
            ("argument_description_changed", ADDITIVE, "description changed", label, old_description, new_description)
        )

    for combinator in _COMBINATORS:
        if combinator in old or combinator in new:
            # A plain schema on one side is a single branch: `string` -> anyOf[string, enum [""]] adds a branch.
            old_branches = old.pop(combinator) if combinator in old else [_pop_all(old)]
            new_branches = new.pop(combinator) if combinator in new else [_pop_all(new)]
            found += _compare_branches(old_branches, new_branches, where, combinator)

    found += _compare_types(old.pop("type", None), new.pop("type", None), label)
    found += _compare_enums(old.pop("enum", None), new.pop("enum", None), label)

    old_properties, new_properties = old.pop("properties", None), new.pop("properties", None)
    old_required, new_required = set(old.pop("required", []) or []), set(new.pop("required", []) or [])
    if old_properties is not None and new_properties is not None:
        found += _compare_properties(old_properties, new_properties, old_required, new_required, where)
    elif old_properties is not None or new_properties is not None:
        found.append(_keyword_change("properties", old_properties, new_properties, label))

    for keyword, suffix in (("items", "[]"), ("additionalProperties", "{}")):
        old_value, new_value = old.pop(keyword, None), new.pop(keyword, None)
        if isinstance(old_value, dict) and isinstance(new_value, dict):
            found += compare_schemas(old_value, new_value, f"{where}{suffix}")
        elif old_value != new_value:
            found.append(_keyword_change(keyword, old_value, new_value, label))

    for keyword in sorted(old.keys() | new.keys()):
        if old.get(keyword) != new.get(keyword):
            found.append(_keyword_change(keyword, old.get(keyword), new.get(keyword), label))
    return found


def _compare_properties(old: dict, new: dict, old_required: set, new_required: set, where: str) -> list[_Found]:
    found: list[_Found] = []
    for name in sorted(old.keys() | new.keys()):
        path = f"{where}.{name}" if where else name
        if name not in new:
            found.append(("argument_removed", BREAKING, "argument removed", path, old[name], None))
        elif name not in old:
            if name in new_required:
                found.append(("argument_added", BREAKING, "required argument added", path, None, new[name]))
            else:
                found.append(("argument_added", ADDITIVE, "argument added", path, None, new[name]))
        else:
            if (name in old_required) != (name in new_required):
                if name in new_required:
                    found.append(("required_changed", BREAKING, "became required", path, False, True))
                else:
                    found.append(("required_changed", ADDITIVE, "became optional", path, True, False))
            found += compare_schemas(old[name], new[name], path)
    return found


def _compare_branches(old: list, new: list, where: str, combinator: str) -> list[_Found]:
    """anyOf/oneOf branches matched by their shape (type, has enum); matched pairs are compared in depth."""
    found: list[_Found] = []
    label = where or None
    old_left, new_left = list(old), list(new)
    for branch in list(old_left):  # identical branches first
        if branch in new_left:
            old_left.remove(branch)
            new_left.remove(branch)
    pairs = []
    for branch in list(old_left):
        match = next((b for b in new_left if _branch_key(b) == _branch_key(branch)), None)
        if match is not None:
            old_left.remove(branch)
            new_left.remove(match)
            pairs.append((branch, match))
    for a, b in pairs:
        found += compare_schemas(a, b, where)
    for branch in old_left:
        found.append(
            ("anyof_changed", BREAKING, f"{combinator} branch removed: {_describe(branch)}", label, branch, None)
        )
    for branch in new_left:
        found.append(
            ("anyof_changed", ADDITIVE, f"{combinator} branch added: {_describe(branch)}", label, None, branch)
        )
    return found


def _branch_key(schema: Any) -> tuple:
    if not isinstance(schema, dict):
        return ("?", False)
    return (tuple(sorted(_types(schema.get("type")) or {"any"})), "enum" in schema)


def _pop_all(schema: dict) -> dict:
    branch = dict(schema)
    schema.clear()
    return branch


def _types(value: Any) -> set[str]:
    if value is None:
        return set()
    return {value} if isinstance(value, str) else set(value)


def _accepts(types: set[str], other: set[str]) -> bool:
    """Every value of a type in `other` is valid for `types` (integer is a number)."""
    return all(t in types or (t == "integer" and "number" in types) for t in other)


def _compare_types(old: Any, new: Any, label: str | None) -> list[_Found]:
    if old == new:
        return []
    old_types, new_types = _types(old), _types(new)
    if old_types == new_types:
        return []
    if not new_types:
        return [("type_changed", ADDITIVE, f"type {_type_text(old)} → any", label, old, new)]
    if old_types and _accepts(new_types, old_types):
        return [("type_changed", ADDITIVE, f"type widened {_type_text(old)} → {_type_text(new)}", label, old, new)]
    if old_types and _accepts(old_types, new_types):
        return [("type_changed", BREAKING, f"type narrowed {_type_text(old)} → {_type_text(new)}", label, old, new)]
    return [
        (
            "type_changed",
            BREAKING,
            f"type {_type_text(old) if old_types else 'any'} → {_type_text(new)}",
            label,
            old,
            new,
        )
    ]


def _compare_enums(old: Any, new: Any, label: str | None) -> list[_Found]:
    if old == new:
        return []
    if old is None:
        return [("enum_changed", BREAKING, f"now limited to {_values(new)}", label, old, new)]
    if new is None:
        return [("enum_changed", ADDITIVE, "no longer limited to a list of values", label, old, new)]
    found: list[_Found] = []
    removed = [v for v in old if v not in new]
    added = [v for v in new if v not in old]
    if removed:
        found.append(("enum_changed", BREAKING, f"enum values removed: {_values(removed)}", label, removed, None))
    if added:
        found.append(("enum_changed", ADDITIVE, f"enum values added: {_values(added)}", label, None, added))
    return found


def _keyword_change(keyword: str, old: Any, new: Any, label: str | None) -> _Found:
    if new is None:
        severity, text = ADDITIVE, f"{keyword} dropped (was {_short(old)})"
    elif old is None:
        severity, text = BREAKING, f"{keyword} added ({_short(new)})"
    else:
        text = f"{keyword} {_short(old)} → {_short(new)}"
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new))
        if numbers and keyword in _UPPER_BOUNDS:
            severity = ADDITIVE if new > old else BREAKING
        elif numbers and keyword in _LOWER_BOUNDS:
            severity = ADDITIVE if new < old else BREAKING
        elif keyword == "additionalProperties" and old is False and new is not False:
            severity = ADDITIVE
        else:
            severity = BREAKING
    return ("constraint_changed", severity, text, label, old, new)


# Words ----------------------------------------------------------------------------------------


def _type_text(value: Any) -> str:
    types = sorted(_types(value))
    return " | ".join(types) if types else "any"


def _describe(schema: Any) -> str:
    if not isinstance(schema, dict):
        return _short(schema)
    text = _type_text(schema.get("type"))
    if "enum" in schema:
        text += f" enum {_values(schema['enum'])}"
    if "items" in schema and isinstance(schema["items"], dict):
        text += f" of {_describe(schema['items'])}"
    if "properties" in schema:
        text += f" with {len(schema['properties'])} properties"
    return text


def _values(values: Iterable[Any], limit: int = 12) -> str:
    values = list(values)
    shown = ", ".join(json.dumps(v, ensure_ascii=False) for v in values[:limit])
    return f"[{shown}{', …' if len(values) > limit else ''}]"


def _names(names: Iterable[str]) -> str:
    return ", ".join(names)


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# JSON -----------------------------------------------------------------------------------------


def report_dict(report: DiffReport) -> dict[str, Any]:
    def side(snapshot: Snapshot) -> dict[str, Any]:
        return {
            "source": snapshot.source,
            "origin": snapshot.origin,
            "api_version": snapshot.api_version,
            "tool_count": len(snapshot.tools),
        }

    def brief(tool: ToolSnapshot) -> dict[str, Any]:
        return {"name": tool.name, "kind": tool.kind, "method": tool.method, "path": tool.path}

    return {
        "format": FORMAT,
        "old": side(report.old),
        "new": side(report.new),
        "summary": {
            "tools_added": len(report.added),
            "tools_removed": len(report.removed),
            "tools_changed": len(report.changed),
            "tools_unchanged": report.unchanged,
            "breaking": report.count(BREAKING),
            "additive": report.count(ADDITIVE),
        },
        "tools_added": [brief(report.new.tools[n]) for n in report.added],
        "tools_removed": [brief(report.old.tools[n]) for n in report.removed],
        "tools_changed": list(report.changed),
        "changes": [c.as_dict() for c in report.changes],
    }


def render_json(report: DiffReport) -> str:
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"


# Markdown -------------------------------------------------------------------------------------


def summary_line(report: DiffReport) -> str:
    return (
        f"**{len(report.added)} tools added, {len(report.removed)} removed, {len(report.changed)} changed, "
        f"{report.unchanged} unchanged; {report.count(BREAKING)} breaking and {report.count(ADDITIVE)} additive changes.**"
    )


def render_markdown(report: DiffReport, max_chars: int | None = None) -> str:
    """A pull-request body: summary, breaking changes, additive changes; long lists folded.

    With max_chars, detail is shed until it fits: first the additive changes of each tool (names
    and counts stay), then the breaking ones; as a last resort the text is cut.
    """
    for detail in (2, 1, 0):
        text = _markdown(report, detail)
        if max_chars is None or len(text) <= max_chars:
            return text
    note = "\n\n_…cut to fit; run `stripe-mcp diff` for the full report._\n"
    return text[: max(max_chars - len(note), 0)] + note


def _markdown(report: DiffReport, detail: int) -> str:
    old, new = report.old, report.new
    lines = [
        f"## Stripe tool changes: API {old.api_version or '?'} → {new.api_version or '?'}",
        "",
        summary_line(report),
        "",
        "| | old | new |",
        "|---|---|---|",
        f"| source | `{_cell(old.source)}` ({old.origin}) | `{_cell(new.source)}` ({new.origin}) |",
        f"| Stripe API version | {_cell(old.api_version)} | {_cell(new.api_version)} |",
        f"| tools | {len(old.tools)} | {len(new.tools)} |",
        "",
    ]
    if not report.changes:
        lines += ["No tool changes.", ""]
    if detail < 2:
        shed = "additive" if detail == 1 else "breaking and additive"
        lines += [
            f"_Shortened to fit a pull-request body: the {shed} changes of each tool are counted, not listed. "
            "Run `stripe-mcp diff OLD NEW` for every change._",
            "",
        ]
    for severity, title in ((BREAKING, "Breaking changes"), (ADDITIVE, "Additive changes")):
        count = report.count(severity)
        if not count:
            continue
        lines += [f"### {title} ({count})", ""]
        endpoints = report.removed if severity == BREAKING else report.added
        if endpoints:
            snapshot = old if severity == BREAKING else new
            verb = "removed" if severity == BREAKING else "added"
            items = [f"- `{n}` ({snapshot.tools[n].method} {snapshot.tools[n].path})" for n in endpoints]
            lines += [f"#### Tools {verb} ({len(endpoints)})", ""] + _fold(items, f"{len(endpoints)} tools {verb}")
        tools = [n for n in report.changed if any(c.severity == severity for c in report.changes_of(n))]
        if tools:
            changes = [c for c in report.changes if c.severity == severity and c.tool in set(tools)]
            verb = "in a breaking way" if severity == BREAKING else "compatibly"
            lines += [f"#### Tools changed {verb} ({len(tools)} tools, {len(changes)} changes)", ""]
            show = detail == 2 or (detail == 1 and severity == BREAKING)
            items = []
            for name in tools:
                own = [c for c in report.changes_of(name) if c.severity == severity]
                if show:
                    items.append(f"- `{name}`")
                    items += [f"  - {_change_text(c)}" for c in own]
                else:
                    items.append(f"- `{name}`: {len(own)} change{'s' if len(own) != 1 else ''}")
            lines += _fold(items, f"{len(tools)} tools, {len(changes)} changes", count=len(tools))
    return "\n".join(lines).rstrip() + "\n"


def _change_text(change: Change) -> str:
    subject = f"`{change.argument}`: " if change.argument else ""
    if change.change == "description_changed":
        return f"tool description changed: “{_cell(_short(change.old, 100))}” → “{_cell(_short(change.new, 100))}”"
    if change.change == "argument_description_changed":
        return f"{subject}description changed"
    if change.change == "argument_added":
        return f"{'required ' if change.severity == BREAKING else ''}argument `{change.argument}` added"
    if change.change == "argument_removed":
        return f"argument `{change.argument}` removed"
    return f"{subject}{_cell(change.detail)}"


def _fold(items: list[str], summary: str, count: int | None = None) -> list[str]:
    if (count if count is not None else len(items)) <= FOLD_OVER:
        return items + [""]
    return ["<details>", f"<summary>{summary}</summary>", ""] + items + ["", "</details>", ""]


def _cell(text: str) -> str:
    """Plain text safe inside Markdown: no HTML tags, no table breaks, no stray backticks."""
    return str(text).replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|").replace("`", "'").replace("\n", " ")
