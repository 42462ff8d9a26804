"""`stripe-mcp generate` as a user or a CI job runs it: a real subprocess, exit codes, stderr, files.

Uses a small fragment spec (tests/spec_fragments.py), not the pinned Stripe spec, for speed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.codegen.spec_fragments import Spec, form_body, ref, string

TIMEOUT = 120

pytestmark = pytest.mark.integration  # every test here runs the CLI in a subprocess


def command() -> list[str]:
    script = shutil.which("stripe-mcp")
    return [script] if script else [sys.executable, "-m", "stripe_mcp"]


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    return subprocess.run(
        [*command(), *map(str, args)], capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd, env=env
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def small_spec() -> Spec:
    s = Spec()
    widget = s.resource("widget", expandable=["owner"])
    s.list("/v1/widgets", widget)
    s.post(
        "/v1/widgets",
        widget,
        form_body({"name": string(), "metadata": {"type": "object", "additionalProperties": {"type": "string"}}}),
    )
    s.get("/v1/widgets/{widget}", widget)
    s.delete("/v1/widgets/{widget}", s.resource("deleted_widget"))
    s.post("/v1/widgets/{widget}/polish", widget)
    return s


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory) -> Path:
    return small_spec().write(tmp_path_factory.mktemp("spec"))


@pytest.fixture(scope="module")
def fresh_output(spec_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fresh") / "generated"
    result = run("generate", "--spec", spec_file, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "generated 5 tools" in result.stdout
    return out


# Bad specs ----------------------------------------------------------------------------------------------


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _with_broken_body_ref(folder: Path) -> Path:
    s = small_spec()
    s.post("/v1/gadgets", ref("widget"), form_body({"part": ref("missing_part")}))
    return s.write(folder, "broken_body_ref.json")


def _with_broken_response_ref(folder: Path) -> Path:
    s = small_spec()
    s.get("/v1/gadgets/{gadget}", ref("no_such_schema"))
    return s.write(folder, "broken_response_ref.json")


def _with_name_collision(folder: Path) -> Path:
    s = small_spec()
    s.list("/v1/widget/widgets", ref("widget"))  # "widget" is no collection here: list_all_stripe_widget_widgets...
    s.list("/v1/widget_widgets", ref("widget"))  # ...which /v1/widget_widgets makes too
    return s.write(folder, "collision.json")


BAD_SPECS = {
    "missing file": (lambda d: d / "nope.yaml", ["no such file"]),
    "a directory": (lambda d: d, ["is a directory"]),
    "binary garbage": (
        lambda d: _write(d, "image.png", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\x00"),
        ["not valid JSON or YAML"],
    ),
    "broken YAML": (
        lambda d: _write(d, "broken.yaml", "openapi: 3.0.0\npaths: [unclosed\n  - : :\n"),
        ["line ", "not valid JSON or YAML"],
    ),
    "broken JSON": (
        lambda d: _write(d, "broken.json", '{"openapi": "3.0.0", "paths": {'),
        ["line 1 column", "not valid JSON"],
    ),
    "plain text": (lambda d: _write(d, "notes.txt", "just some words\n"), ["not an OpenAPI document"]),
    "swagger 2.0": (
        lambda d: _write(d, "swagger.yaml", 'swagger: "2.0"\ninfo: {title: x, version: "1"}\npaths: {}\n'),
        ["openapi:", "not an OpenAPI 3 document"],
    ),
    "openapi 2 field": (
        lambda d: _write(d, "old.json", json.dumps({"openapi": "2.0", "info": {"version": "1"}, "paths": {}})),
        ["openapi:", "not an OpenAPI 3"],
    ),
    "no paths": (
        lambda d: _write(d, "nopaths.json", json.dumps({"openapi": "3.0.0", "info": {"version": "1"}})),
        ["paths:"],
    ),
    "broken $ref in a body": (
        _with_broken_body_ref,
        ["paths./v1/gadgets.post.requestBody", "properties.part", "broken $ref #/components/schemas/missing_part"],
    ),
    "broken $ref in a response": (
        _with_broken_response_ref,
        ["paths./v1/gadgets/{gadget}.get.responses", "broken $ref #/components/schemas/no_such_schema"],
    ),
    "a tool name collision": (
        _with_name_collision,
        ["list_all_stripe_widget_widgets", "GET /v1/widget/widgets", "GET /v1/widget_widgets"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_a_bad_spec_exits_2_with_one_clear_error_line_and_leaves_out_untouched(case, tmp_path):
    make, expected = BAD_SPECS[case]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    spec = make(inputs)
    workspace = tmp_path / "workspace"
    out = workspace / "generated"
    (out / "tools").mkdir(parents=True)
    (out / "tools" / "keep_me.py").write_text("# hand-made, must survive\n")
    (out / "manifest.json").write_bytes(b'{"tools": []}\n')
    before = snapshot(out)
    siblings = sorted(p.name for p in workspace.iterdir())

    result = run("generate", "--spec", spec, "--out", out)

    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert line.startswith("error: "), line
    if case != "a tool name collision":  # a naming problem is about paths in the spec, not the file
        assert str(spec) in line, line
    for fragment in expected:
        assert fragment in line, (fragment, line)
    assert snapshot(out) == before
    assert sorted(p.name for p in workspace.iterdir()) == siblings  # no staging folder left behind


# Put first on sys.path, this makes the installed ruff report another version than the one pinned.
OTHER_RUFF = """
from importlib import metadata
_version = metadata.version
metadata.version = lambda name: "0.0.1" if name.lower() == "ruff" else _version(name)
"""


@pytest.mark.parametrize("check", [False, True], ids=["generate", "check"])
def test_a_generator_tool_at_another_version_exits_2_naming_it_and_leaves_out_untouched(
    check, spec_file, fresh_output, tmp_path
):
    """Not a traceback, and for --check not the 1 of a stale folder: the toolchain is wrong, not the files."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(OTHER_RUFF, encoding="utf-8")
    before = snapshot(fresh_output)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    extra = ["--check"] if check else []
    result = subprocess.run(
        [*command(), "generate", "--spec", str(spec_file), "--out", str(fresh_output), *extra],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: ruff 0.0.1 is installed, 0.17.6 is pinned: install the pinned versions with "
        "pip install 'stripe-mcp[codegen]'"
    )
    assert snapshot(fresh_output) == before


@pytest.mark.parametrize("case", ["broken $ref in a body", "swagger 2.0"])
def test_check_on_a_bad_spec_also_exits_2(case, tmp_path, fresh_output):
    make, expected = BAD_SPECS[case]
    spec = make(tmp_path)
    result = run("generate", "--spec", spec, "--out", fresh_output, "--check")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_out_that_is_a_file_is_a_usage_error(spec_file, tmp_path):
    target = tmp_path / "generated"
    target.write_text("not a folder")
    result = run("generate", "--spec", spec_file, "--out", target)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert target.read_text() == "not a folder"


def test_spec_option_is_required():
    result = run("generate")
    assert result.returncode == 2
    assert "--spec" in result.stderr


# --check ------------------------------------------------------------------------------------------------


def test_check_exits_0_on_a_fresh_output(spec_file, fresh_output):
    before = snapshot(fresh_output)
    result = run("generate", "--spec", spec_file, "--out", fresh_output, "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout
    assert snapshot(fresh_output) == before


def _modify(out: Path) -> str:
    path = out / "tools" / "get_single_stripe_widget_by_id.py"
    path.write_text(path.read_text() + "# a local edit\n")
    return "tools/get_single_stripe_widget_by_id.py"


def _delete(out: Path) -> str:
    (out / "schemas" / "create_a_stripe_widget.json").unlink()
    return "schemas/create_a_stripe_widget.json"


def _add(out: Path) -> str:
    (out / "tools" / "list_all_stripe_gizmos.py").write_text("NAME = 'list_all_stripe_gizmos'\n")
    return "tools/list_all_stripe_gizmos.py"


def _whitespace(out: Path) -> str:
    path = out / "manifest.json"
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    return "manifest.json"


@pytest.mark.parametrize(
    "change", [_modify, _delete, _add, _whitespace], ids=["modified", "deleted", "added", "last-newline"]
)
def test_check_exits_1_listing_the_stale_file(change, spec_file, fresh_output, tmp_path):
    out = tmp_path / "generated"
    shutil.copytree(fresh_output, out)
    stale = change(out)
    before = snapshot(out)
    result = run("generate", "--spec", spec_file, "--out", out, "--check")
    assert result.returncode == 1, result.stdout + result.stderr
    listed = [line.strip() for line in result.stdout.splitlines()[1:]]
    assert listed == [stale]
    assert "1 file(s)" in result.stdout.splitlines()[0]
    assert snapshot(out) == before  # --check writes nothing


def test_check_ignores_bytecode_caches(spec_file, fresh_output, tmp_path):
    out = tmp_path / "generated"
    shutil.copytree(fresh_output, out)
    (out / "tools" / "__pycache__").mkdir()
    (out / "tools" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\x00")
    assert run("generate", "--spec", spec_file, "--out", out, "--check").returncode == 0


def test_check_against_a_missing_folder_lists_everything(spec_file, fresh_output, tmp_path):
    result = run("generate", "--spec", spec_file, "--out", tmp_path / "absent", "--check")
    assert result.returncode == 1
    assert not (tmp_path / "absent").exists()
    listed = {line.strip() for line in result.stdout.splitlines()[1:]}
    assert listed == set(snapshot(fresh_output))


# Generating ---------------------------------------------------------------------------------------------


def test_generate_twice_gives_identical_bytes(spec_file, fresh_output, tmp_path):
    again = tmp_path / "again"
    assert run("generate", "--spec", spec_file, "--out", again).returncode == 0
    assert snapshot(again) == snapshot(fresh_output)
    assert run("generate", "--spec", spec_file, "--out", again).returncode == 0
    assert snapshot(again) == snapshot(fresh_output)


def test_generate_replaces_the_whole_folder(spec_file, fresh_output, tmp_path):
    out = tmp_path / "generated"
    shutil.copytree(fresh_output, out)
    (out / "tools" / "orphan.py").write_text("# from an older spec\n")
    _modify(out)
    result = run("generate", "--spec", spec_file, "--out", out)
    assert result.returncode == 0, result.stderr
    assert snapshot(out) == snapshot(fresh_output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["generated"]


def test_generated_output_layout(fresh_output):
    files = set(snapshot(fresh_output))
    names = {
        "list_all_stripe_widgets",
        "create_a_stripe_widget",
        "get_single_stripe_widget_by_id",
        "delete_a_stripe_widget_by_id",
        "polish_a_stripe_widget",
    }
    assert {"__init__.py", "manifest.json", "tools/__init__.py", "models/__init__.py"} <= files
    assert {p for p in files if p.startswith("tools/")} == {"tools/__init__.py"} | {f"tools/{n}.py" for n in names}
    assert {p for p in files if p.startswith("schemas/")} == {f"schemas/{n}.json" for n in names}
    manifest = json.loads((fresh_output / "manifest.json").read_text())
    assert manifest["spec_sha256"] and manifest["api_version"] == "2099-01-01"
    assert sorted(t["name"] for t in manifest["tools"]) == sorted(names)


def test_yaml_and_json_specs_generate_the_same_tools(spec_file, fresh_output, tmp_path):
    import yaml

    yaml_spec = tmp_path / "spec.yaml"
    yaml_spec.write_text(yaml.safe_dump(json.loads(spec_file.read_text())))
    out = tmp_path / "generated"
    assert run("generate", "--spec", yaml_spec, "--out", out).returncode == 0
    differ = {p for p, data in snapshot(out).items() if data != snapshot(fresh_output)[p]}
    assert differ == {"manifest.json"}  # only the spec's sha256 differs
    ours, theirs = (json.loads((d / "manifest.json").read_text()) for d in (out, fresh_output))
    ours.pop("spec_sha256"), theirs.pop("spec_sha256")
    assert ours == theirs


MALFORMED = {
    "parameters is not a list": {"/v1/widgets": {"get": {"parameters": "oops", "responses": {}}}},
    "requestBody is not an object": {"/v1/widgets": {"post": {"requestBody": "oops", "responses": {}}}},
    "properties is not an object": {
        "/v1/widgets": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": ["a"]}}
                    }
                },
                "responses": {},
            }
        }
    },
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_operation_is_a_clear_error(case, tmp_path):
    spec = tmp_path / "malformed.json"
    spec.write_text(json.dumps({"openapi": "3.0.0", "info": {"version": "1"}, "paths": MALFORMED[case]}))
    result = run("generate", "--spec", spec, "--out", tmp_path / "out")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {spec}: paths./v1/widgets."), line
    assert not (tmp_path / "out").exists()
