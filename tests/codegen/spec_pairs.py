"""Pairs of specs (old, new) for the schema diff and the regeneration workflow.

`widget_pair()` is small and hand-made: between its two specs there is one change of every kind
that stripe_mcp.codegen.diff reports (see the comments), breaking and additive. `widget_overrides()` adds the
two changes a spec alone cannot make without renaming a tool: an annotation (a destructive action
word) and a kind (an explicit tool name kept across a get -> list change).

The real pair is Stripe's own: the 2022-04-12 spec of stripe/openapi and the pinned 2023 one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.codegen.spec_fragments import (
    Spec,
    form_body,
    list_of,
    query_parameter,
    string,
)
from tests.support.paths import SHARED_SPECS

SPEC_2022 = SHARED_SPECS / "history" / "spec3.2022-04-12.json"
SPEC_PINNED = SHARED_SPECS / "spec3.yaml"
HTTP_METHODS = ("get", "post", "delete", "put", "patch")
REPORT_TOOL = "get_widget_report"


def _widget_create_body(new: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "name": string(),  # optional -> required: breaking
        "nickname": string(),  # required -> optional: additive
        "count": {"type": "string"} if not new else {"type": "integer"},  # type changed: breaking
        "weight": {"type": "integer"} if not new else {"type": "number"},  # type widened: additive
        "size": {
            "type": "string",
            "enum": ["small", "medium", "large"] if not new else ["small", "medium", "huge"],
        },  # enum -1 +1
        "description": string()
        if not new
        else {"anyOf": [string(), {"type": "string", "enum": [""]}]},  # anyOf branch added
        "tracking": {"anyOf": [string(), {"type": "integer"}]}
        if not new
        else string(),  # anyOf branch removed: breaking
        "label": string() if not new else string(maxLength=100),  # tighter constraint: breaking
        "note": string(description="A note." if not new else "A note for the warehouse."),  # argument description
        "address": {
            "type": "object",
            "properties": {"line1": string(), **({"city": string()} if new else {})},  # nested argument added
        },
    }
    if not new:
        properties["legacy_code"] = string()  # argument removed: breaking
    else:
        properties["sku"] = string()  # required argument added: breaking
        properties["color"] = string()  # optional argument added: additive
    required = ["nickname"] if not new else ["name", "sku"]
    return form_body(properties, required)


def widget_spec(new: bool) -> Spec:
    s = Spec(version="2099-01-01" if not new else "2099-06-01")
    widget = s.resource("widget", expandable=["owner"])
    deleted = s.resource("deleted_widget")
    colors = ["red", "green", "blue"] + (["yellow"] if new else [])
    s.list("/v1/widgets", widget, [query_parameter("color", string(enum=colors))])  # enum value added
    s.post("/v1/widgets", widget, _widget_create_body(new))
    s.get("/v1/widgets/{widget}", widget)  # unchanged
    # The placeholder is renamed: same tool, same `id` argument, another path (endpoint changed).
    s.post("/v1/widgets/{widget}" if not new else "/v1/widgets/{id}", widget, form_body({"name": string()}))
    if not new:
        s.delete("/v1/widgets/{widget}", deleted)  # tool removed
    polish = "Polish a widget." if not new else "Polish a widget until it shines."  # tool description
    s.post("/v1/widgets/{widget}/polish", widget, description=polish)  # + annotations (overrides)
    if new:
        s.post("/v1/widgets/{widget}/archive", widget)  # tool added
        s.list("/v1/gizmos", s.resource("gizmo"))  # tool added
    # A retrieve that becomes a list, under a fixed name (kind changed, tags changed, arguments added).
    if not new:
        s.get("/v1/widgets/{widget}/report", s.resource("widget_report"))
    else:
        s.operation(
            "get",
            "/v1/widgets/{widget}/report",
            list_of(s.resource("report")),
            [query_parameter("limit", {"type": "integer"})],
        )
    return s


def widget_pair() -> tuple[Spec, Spec]:
    return widget_spec(new=False), widget_spec(new=True)


def widget_overrides() -> tuple[Any, Any]:
    """Overrides for (old, new): independent of specs/overrides.yaml, so the goldens do not move with it."""
    from stripe_mcp.codegen.stripe import Overrides

    names = {"GET /v1/widgets/{widget}/report": REPORT_TOOL}
    return (
        Overrides(tool_names=dict(names)),
        Overrides(tool_names=dict(names), destructive_action_words=frozenset({"polish"})),
    )


def widget_snapshots(folder: Path):
    """The diff snapshots of the pair, built with widget_overrides()."""
    from stripe_mcp.codegen.loader import load_api
    from stripe_mcp.codegen.snapshot import snapshot_from_tools
    from stripe_mcp.codegen.stripe import build_tools

    folder = Path(folder)
    snapshots = []
    for spec, overrides, name in zip(widget_pair(), widget_overrides(), ("old.json", "new.json"), strict=True):
        api = load_api(spec.write(folder, name))
        snapshots.append(snapshot_from_tools(build_tools(api, overrides), api.version, name))
    return tuple(snapshots)


# Stripe's real pair ------------------------------------------------------------------------------


def read_spec(path: Path) -> dict[str, Any]:
    from stripe_mcp.codegen.loader import read_document

    return read_document(Path(path))[0]


def operations(document: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(METHOD, path with placeholders as {}) -> operationId, straight from the document."""
    import re

    result = {}
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                result[(method.upper(), re.sub(r"\{[^}]+\}", "{}", path))] = item[method].get("operationId")
    return result


def nameable_2022_spec(folder: Path) -> tuple[Path, list[str]]:
    """The 2022 spec, minus what today's naming rules cannot name (if anything), and what was dropped.

    The 2022 spec still has Stripe's deprecated /v1/account/<sub-resource> routes (bank_accounts,
    capabilities, external_accounts, login_links, people, persons) beside /v1/accounts/{account}/...;
    the rules give both the same names (both read "account", the singleton namespace and the
    singular of the collection) and `generate` stops with a ConventionError. Those routes were
    removed from Stripe's spec by 2023, so dropping them keeps the real update for every other
    operation. When the rules learn to name them, this returns the spec untouched.
    """
    from stripe_mcp.codegen.loader import load_api
    from stripe_mcp.codegen.stripe import ConventionError, build_tools

    try:
        build_tools(load_api(SPEC_2022))
        return SPEC_2022, []
    except ConventionError:
        pass
    document = read_spec(SPEC_2022)
    dropped = []
    for path in sorted(document["paths"]):
        if path.startswith("/v1/account/"):
            dropped += [f"{m.upper()} {path}" for m in HTTP_METHODS if m in document["paths"][path]]
            del document["paths"][path]
    target = Path(folder) / "spec3.2022-04-12.nameable.json"
    target.write_text(json.dumps(document), encoding="utf-8")
    return target, dropped
