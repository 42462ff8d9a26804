"""What a spec update changes for agents: a diff of two tool sets, for a pull-request body or a CI job.

Both sides are a tool snapshot (stripe_mcp.codegen.snapshot: from a spec or a generated/ folder);
the comparison of argument schemas is stripe_mcp.codegen.schema_diff. Everything here is a pure
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stripe_mcp.codegen.schema_diff import ADDITIVE, BREAKING, compare_schemas, short
from stripe_mcp.codegen.snapshot import Snapshot, ToolSnapshot, load_snapshot

FORMAT = "stripe-mcp-diff/1"
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
            f"{k}: {short(old.annotations.get(k))} → {short(new.annotations.get(k))}"
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
                f"tags removed: {', '.join(removed_tags)} (servers filtered by them lose this tool)",
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
                f"tags added: {', '.join(added_tags)}",
                None,
                list(old.tags),
                list(new.tags),
            )
        )
    if not removed_tags and not added_tags and old.tags != new.tags:
        changes.append(Change(name, "tags_changed", ADDITIVE, "tags reordered", None, list(old.tags), list(new.tags)))
    return changes


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
    if max_chars is None:
        return _markdown(report, 2)
    for detail in (2, 1, 0):
        text = _markdown(report, detail)
        if len(text) <= max_chars:
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
        return f"tool description changed: “{_cell(short(change.old, 100))}” → “{_cell(short(change.new, 100))}”"
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
