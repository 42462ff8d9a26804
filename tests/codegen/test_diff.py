"""`stripe-mcp diff`: the schema diff of two specs or generated/ folders.

- A small hand-made pair (tests/spec_pairs.py) with one change of every kind, against goldens
  (tests/golden/diff-small.md and .json; UPDATE_GOLDEN=1 rewrites them).
- Stripe's real update, the 2022-04-12 spec -> the pinned 2023 spec: counts checked against a count
  taken straight from the two documents, stable tool names, and `generate` twice in a git repository
  whose `git status` must match the report file for file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from stripe_mcp.codegen.diff import CHANGE_KINDS, FORMAT, diff_snapshots, render_json, render_markdown, report_dict
from stripe_mcp.codegen.schema_diff import ADDITIVE, BREAKING, compare_schemas
from stripe_mcp.codegen.snapshot import snapshot_from_generated, snapshot_from_spec, snapshot_from_tools
from tests.codegen.spec_pairs import (
    SPEC_2022,
    SPEC_PINNED,
    nameable_2022_spec,
    operations,
    read_spec,
    widget_pair,
    widget_snapshots,
)
from tests.support.paths import REPO as ROOT

GOLDEN = Path(__file__).parent / "golden"
TOOL_LEVEL = {"description_changed", "annotations_changed", "tags_changed", "kind_changed", "endpoint_changed"}
"""Changes that live in manifest.json; every other kind of change is a change of schemas/<tool>.json."""


def cli(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stripe_mcp", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd or ROOT,
    )


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from the golden (UPDATE_GOLDEN=1 to accept)"


# The small pair ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    old, new = widget_snapshots(tmp_path_factory.mktemp("pair"))
    return diff_snapshots(old, new)


def test_small_pair_markdown_golden(small):
    check_golden("diff-small.md", render_markdown(small))


def test_small_pair_json_golden(small):
    check_golden("diff-small.json", render_json(small))


def test_small_pair_covers_every_change_kind(small):
    kinds = {c.change for c in small.changes}
    assert kinds == set(CHANGE_KINDS)
    severity = {(c.tool, c.change, c.argument, c.detail.split(":")[0]): c.severity for c in small.changes}
    expected = {
        ("delete_a_stripe_widget_by_id", "tool_removed"): BREAKING,
        ("archive_a_stripe_widget", "tool_added"): ADDITIVE,
        ("create_a_stripe_widget", "argument_removed", "legacy_code"): BREAKING,
        ("create_a_stripe_widget", "argument_added", "sku"): BREAKING,  # a new required argument
        ("create_a_stripe_widget", "argument_added", "color"): ADDITIVE,
        ("create_a_stripe_widget", "argument_added", "address.city"): ADDITIVE,
        ("create_a_stripe_widget", "required_changed", "name"): BREAKING,
        ("create_a_stripe_widget", "required_changed", "nickname"): ADDITIVE,
        ("create_a_stripe_widget", "type_changed", "count"): BREAKING,
        ("create_a_stripe_widget", "type_changed", "weight"): ADDITIVE,
        ("create_a_stripe_widget", "constraint_changed", "label"): BREAKING,
        ("create_a_stripe_widget", "argument_description_changed", "note"): ADDITIVE,
        ("create_a_stripe_widget", "anyof_changed", "description"): ADDITIVE,
        ("create_a_stripe_widget", "anyof_changed", "tracking"): BREAKING,
        ("get_widget_report", "kind_changed"): BREAKING,
        ("polish_a_stripe_widget", "annotations_changed"): ADDITIVE,
        ("polish_a_stripe_widget", "description_changed"): ADDITIVE,
        ("update_a_stripe_widget_by_id", "endpoint_changed"): ADDITIVE,
    }
    for key, want in expected.items():
        found = {s for k, s in severity.items() if k[: len(key)] == key}
        assert found == {want}, (key, found)
    enum = {c.detail: c.severity for c in small.changes if c.change == "enum_changed" and c.argument == "size"}
    assert enum == {'enum values removed: ["large"]': BREAKING, 'enum values added: ["huge"]': ADDITIVE}
    tags = {c.detail.split(":")[0]: c.severity for c in small.changes if c.change == "tags_changed"}
    assert tags == {"tags removed": BREAKING, "tags added": ADDITIVE}
    assert small.added == ["archive_a_stripe_widget", "list_all_stripe_gizmos"]
    assert small.removed == ["delete_a_stripe_widget_by_id"]
    assert "get_single_stripe_widget_by_id" not in small.changed  # the one tool with no change


def test_json_structure_is_stable(small):
    report = json.loads(render_json(small))
    assert list(report) == [
        "format",
        "old",
        "new",
        "summary",
        "tools_added",
        "tools_removed",
        "tools_changed",
        "changes",
    ]
    assert report["format"] == FORMAT
    assert list(report["old"]) == ["source", "origin", "api_version", "tool_count"]
    summary = report["summary"]
    assert summary["breaking"] + summary["additive"] == len(report["changes"])
    assert summary["tools_added"] == len(report["tools_added"]) and summary["tools_removed"] == len(
        report["tools_removed"]
    )
    assert (
        summary["tools_changed"] + summary["tools_unchanged"] == report["old"]["tool_count"] - summary["tools_removed"]
    )
    for change in report["changes"]:
        assert list(change) == ["tool", "change", "severity", "argument", "detail", "old", "new"]
        assert change["change"] in CHANGE_KINDS and change["severity"] in (BREAKING, ADDITIVE)
    assert [c["tool"] for c in report["changes"]] == sorted(c["tool"] for c in report["changes"])


def test_markdown_puts_breaking_first_and_folds_long_lists(small):
    text = render_markdown(small)
    assert text.index("### Breaking changes") < text.index("### Additive changes")
    assert text.splitlines()[2].startswith("**2 tools added, 1 removed, 5 changed")
    many = replace(small, added=[f"tool_{i:02}" for i in range(12)])
    many.new.tools.update({n: replace(next(iter(small.new.tools.values())), name=n) for n in many.added})
    assert "<details>\n<summary>12 tools added</summary>" in render_markdown(many)


def test_markdown_sheds_detail_to_fit(small):
    full = render_markdown(small)
    fitted = render_markdown(small, max_chars=len(full) - 1)
    assert len(fitted) < len(full) and "Shortened to fit" in fitted
    assert "`create_a_stripe_widget`: 7 changes" in fitted  # additive details counted, not listed
    assert "`count`: type string → integer" in fitted  # breaking details kept
    assert len(render_markdown(small, max_chars=1000)) <= 1000


@pytest.mark.parametrize(
    ("old", "new", "change", "severity"),
    [
        ({"type": "integer"}, {"type": "number"}, "type_changed", ADDITIVE),
        ({"type": "number"}, {"type": "integer"}, "type_changed", BREAKING),
        ({"type": ["string", "null"]}, {"type": "string"}, "type_changed", BREAKING),
        ({"type": "string", "enum": ["a"]}, {"type": "string"}, "enum_changed", ADDITIVE),
        ({"type": "string"}, {"type": "string", "enum": ["a"]}, "enum_changed", BREAKING),
        ({"type": "string", "maxLength": 10}, {"type": "string", "maxLength": 20}, "constraint_changed", ADDITIVE),
        ({"type": "integer", "minimum": 1}, {"type": "integer", "minimum": 2}, "constraint_changed", BREAKING),
        ({"type": "string", "pattern": "^a"}, {"type": "string"}, "constraint_changed", ADDITIVE),
        ({"type": "string", "format": "date"}, {"type": "string", "format": "uri"}, "constraint_changed", BREAKING),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, {"type": "string"}, "anyof_changed", BREAKING),
        (
            {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
            {"type": "array", "items": {"type": "string", "enum": ["a"]}},
            "enum_changed",
            BREAKING,
        ),
    ],
)
def test_schema_change_severity(old, new, change, severity):
    found = compare_schemas(old, new, "x")
    assert [(f[0], f[1]) for f in found] == [(change, severity)]


def test_nested_anyof_branches_are_compared_in_depth():
    object_branch = {"type": "object", "properties": {"a": {"type": "string"}}}
    wider = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}}
    unset = {"type": "string", "enum": [""]}
    found = compare_schemas({"anyOf": [object_branch, unset]}, {"anyOf": [unset, wider]}, "address")
    assert found == [("argument_added", ADDITIVE, "argument added", "address.b", None, {"type": "string"})]


@pytest.mark.integration
def test_snapshot_of_a_generated_folder_equals_the_snapshot_of_its_spec(tmp_path):
    from stripe_mcp.codegen.generate import generate_files, write_tree

    spec = widget_pair()[1].write(tmp_path)
    write_tree(generate_files(spec).files, tmp_path / "generated")
    from_spec, from_folder = snapshot_from_spec(spec), snapshot_from_generated(tmp_path / "generated")
    assert from_spec.tools == from_folder.tools and from_spec.api_version == from_folder.api_version
    assert diff_snapshots(from_spec, from_folder).changes == []


@pytest.mark.integration
def test_cli_reports_and_exits_0(tmp_path):
    old, new = (s.write(tmp_path, n) for s, n in zip(widget_pair(), ("old.json", "new.json"), strict=True))
    markdown = cli("diff", old, new)
    assert markdown.returncode == 0, markdown.stderr
    assert markdown.stdout.startswith("## Stripe tool changes: API 2099-01-01 → 2099-06-01\n")
    as_json = cli("diff", old, new, "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    # Without widget_overrides() the report tool is renamed with its kind: removed + added.
    assert [t["name"] for t in report["tools_removed"]] == [
        "delete_a_stripe_widget_by_id",
        "get_single_stripe_widget_report_by_id",
    ]
    assert report["old"]["source"] == str(old)
    same = cli("diff", new, new, "--format", "json")
    assert same.returncode == 0 and json.loads(same.stdout)["changes"] == []


@pytest.mark.integration
@pytest.mark.parametrize("case", ["missing", "not_openapi", "folder_without_manifest", "broken_manifest"])
def test_cli_bad_input_is_one_error_line_and_exit_2(tmp_path, case):
    good = widget_pair()[0].write(tmp_path)
    bad = {
        "missing": tmp_path / "nope.yaml",
        "not_openapi": tmp_path / "swagger.yaml",
        "folder_without_manifest": tmp_path / "empty",
        "broken_manifest": tmp_path / "broken",
    }[case]
    (tmp_path / "swagger.yaml").write_text("swagger: '2.0'\ninfo: {version: '1'}\npaths: {}\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text("{not json")
    for args in ((good, bad), (bad, good)):
        result = cli("diff", *args)
        assert result.returncode == 2, (case, result.stdout)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {bad}"), result.stderr
        assert result.stdout == ""


# Stripe's real update: 2022-04-12 -> the pinned spec ----------------------------------------------


@pytest.fixture(scope="module")
def stripe_pair(tmp_path_factory):
    """Specs, tools and the diff report, loaded once (the two specs take seconds)."""
    from stripe_mcp.codegen.loader import load_api
    from stripe_mcp.codegen.stripe import build_tools

    old_path, dropped = nameable_2022_spec(tmp_path_factory.mktemp("stripe-2022"))
    old_api, new_api = load_api(old_path), load_api(SPEC_PINNED)
    old_tools, new_tools = build_tools(old_api), build_tools(new_api)
    report = diff_snapshots(
        snapshot_from_tools(old_tools, old_api.version, str(old_path)),
        snapshot_from_tools(new_tools, new_api.version, str(SPEC_PINNED)),
    )
    return {
        "old_path": old_path,
        "dropped": dropped,
        "report": report,
        "old_doc": read_spec(old_path),
        "new_doc": read_spec(SPEC_PINNED),
        "old_tools": {t.name: t for t in old_tools},
        "new_tools": {t.name: t for t in new_tools},
    }


@pytest.mark.integration
def test_the_2022_spec_needs_only_its_deprecated_account_routes_dropped(stripe_pair):
    # Today's rules give /v1/account/<x> and /v1/accounts/{account}/<x> the same names (see spec_pairs).
    dropped = stripe_pair["dropped"]
    assert dropped == [] or (len(dropped) == 23 and all(d.split(" ")[1].startswith("/v1/account/") for d in dropped))
    assert len(operations(read_spec(SPEC_2022))) - len(dropped) == len(operations(stripe_pair["old_doc"]))


@pytest.mark.integration
def test_added_and_removed_match_an_independent_count(stripe_pair):
    report = stripe_pair["report"]
    old_ops, new_ops = operations(stripe_pair["old_doc"]), operations(stripe_pair["new_doc"])
    added, removed = new_ops.keys() - old_ops.keys(), old_ops.keys() - new_ops.keys()
    assert (len(report.added), len(report.removed)) == (len(added), len(removed))
    # Cross-check by operationId, and by the endpoints of the tools reported.
    old_ids, new_ids = set(old_ops.values()), set(new_ops.values())
    assert (len(new_ids - old_ids), len(old_ids - new_ids)) == (len(added), len(removed))
    normalized = lambda tool: (tool.method, __import__("re").sub(r"\{[^}]+\}", "{}", tool.path))  # noqa: E731
    assert {normalized(stripe_pair["new_tools"][n]) for n in report.added} == added
    assert {normalized(stripe_pair["old_tools"][n]) for n in report.removed} == removed
    assert len(added) == 102 and len(removed) == 51 - len(stripe_pair["dropped"])


@pytest.mark.integration
def test_operations_in_both_specs_keep_their_tool_and_argument_names(stripe_pair):
    """Stable names: the same operation gets the same tool name; arguments differ only where Stripe's fields do."""
    by_operation = lambda tools: {(t.method, t.path): t for t in tools.values()}  # noqa: E731
    old, new = by_operation(stripe_pair["old_tools"]), by_operation(stripe_pair["new_tools"])
    common = old.keys() & new.keys()
    assert len(common) == 366
    renamed = sorted((k, old[k].name, new[k].name) for k in common if old[k].name != new[k].name)
    assert renamed == []
    for key in common:
        a, b = old[key], new[key]
        ours = lambda t: [(x.name, x.location) for x in t.arguments if x.location in ("path", "control")]  # noqa: E731
        assert ours(a) == ours(b), key
        for tool in (a, b):  # query and body fields keep Stripe's names
            assert all(x.name == x.wire_name for x in tool.arguments if x.location in ("query", "body"))


@pytest.mark.integration
def test_every_tool_that_differs_is_reported(stripe_pair):
    report, old, new = stripe_pair["report"], stripe_pair["old_tools"], stripe_pair["new_tools"]
    differs = {
        name
        for name in old.keys() & new.keys()
        if (old[name].input_schema, old[name].description, old[name].annotations, old[name].tags, old[name].path)
        != (new[name].input_schema, new[name].description, new[name].annotations, new[name].tags, new[name].path)
    }
    assert set(report.changed) == differs
    assert len(differs) > 150  # a real update: most tools changed in 17 months
    breaking = {c.tool for c in report.changes if c.severity == BREAKING and c.change != "tool_removed"}
    assert "update_a_stripe_account_by_id" in breaking  # Stripe dropped its bank_account field
    assert ("create_a_stripe_account_login_link", "argument_removed", "redirect_url") in {
        (c.tool, c.change, c.argument) for c in report.changes
    }


@pytest.fixture(scope="module")
def regenerated(stripe_pair, tmp_path_factory):
    """generate (2022) into a git repository, commit, generate (pinned): the git status and both trees."""
    repo = tmp_path_factory.mktemp("regen-repo")
    out = repo / "generated"

    def git(*args: str) -> str:
        command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args]
        return subprocess.run(command, cwd=repo, check=True, capture_output=True, text=True).stdout

    git("init", "-q")
    first = cli("generate", "--spec", stripe_pair["old_path"], "--out", out)
    assert first.returncode == 0, first.stderr
    git("add", "-A")
    git("commit", "-q", "-m", "2022")
    before = tmp_path_factory.mktemp("before") / "generated"
    shutil.copytree(out, before)
    second = cli("generate", "--spec", SPEC_PINNED, "--out", out)
    assert second.returncode == 0, second.stderr
    git("add", "-A")
    status = {}
    for line in git("status", "--porcelain", "--no-renames").splitlines():
        status.setdefault(line[0], set()).add(line[3:].removeprefix("generated/"))
    return {"status": status, "before": before, "after": out}


def _schema_files(status: dict, code: str) -> set[str]:
    return {p.removeprefix("schemas/").removesuffix(".json") for p in status.get(code, ()) if p.startswith("schemas/")}


@pytest.mark.integration
def test_git_status_of_schemas_matches_the_report(stripe_pair, regenerated):
    report, status = stripe_pair["report"], regenerated["status"]
    assert set(status) <= {"A", "D", "M"}
    assert _schema_files(status, "A") == set(report.added)
    assert _schema_files(status, "D") == set(report.removed)
    common = set(stripe_pair["old_tools"]) & set(stripe_pair["new_tools"])
    # No generated file names the API version (manifest.json alone holds it), so exactly the tools
    # reported with a change of their arguments have a modified schema file.
    argument_level = {c.tool for c in report.changes if c.change not in TOOL_LEVEL | {"tool_added", "tool_removed"}}
    assert _schema_files(status, "M") == argument_level
    assert 0 < len(argument_level) < len(common)
    for name in common - argument_level:
        old = (regenerated["before"] / "schemas" / f"{name}.json").read_bytes()
        assert old == (regenerated["after"] / "schemas" / f"{name}.json").read_bytes(), name
    # Besides the per-tool and per-model files, the new version and tools touch manifest.json,
    # search_index.json and fields.json (what read tools return) only: the package docstrings stay as they were.
    per_tool = lambda p: not p.endswith("__init__.py") and p.startswith(("schemas/", "tools/", "models/"))  # noqa: E731
    others = {p for code in status for p in status[code] if not per_tool(p)}
    assert others == {"manifest.json", "search_index.json", "fields.json"} <= status["M"]
    # tools/<name>.py are added and removed with schemas/<name>.json; a module changes with its arguments.
    for code, names in (("A", report.added), ("D", report.removed)):
        assert {p for p in status.get(code, ()) if per_tool(p) and p.startswith("tools/")} == {
            f"tools/{n}.py" for n in names
        }
    modified_modules = {p for p in status.get("M", ()) if p.startswith("tools/")}
    assert modified_modules <= {f"tools/{n}.py" for n in common} and len(modified_modules) < len(common)


@pytest.mark.integration
def test_manifest_changes_match_the_tool_level_report(stripe_pair, regenerated):
    report = stripe_pair["report"]
    old = {t["name"]: t for t in json.loads((regenerated["before"] / "manifest.json").read_text())["tools"]}
    new = {t["name"]: t for t in json.loads((regenerated["after"] / "manifest.json").read_text())["tools"]}
    fields = ("description", "annotations", "tags", "kind", "method", "path", "title")
    differs = {n for n in old.keys() & new.keys() if any(old[n][f] != new[n][f] for f in fields)}
    assert differs == {c.tool for c in report.changes if c.change in TOOL_LEVEL}


@pytest.mark.integration
def test_cli_diff_of_the_two_generated_folders_equals_the_diff_of_the_specs(stripe_pair, regenerated):
    result = cli("diff", regenerated["before"], regenerated["after"], "--format", "json")
    assert result.returncode == 0, result.stderr
    from_folders = json.loads(result.stdout)
    from_specs = report_dict(stripe_pair["report"])
    for key in ("summary", "tools_added", "tools_removed", "tools_changed", "changes"):
        assert from_folders[key] == from_specs[key], key
    assert from_folders["old"]["origin"] == "generated" and from_folders["new"]["api_version"] == "2023-08-16"
    markdown = cli("diff", regenerated["before"], regenerated["after"], "--max-chars", "60000")
    assert markdown.returncode == 0 and len(markdown.stdout) <= 60000
