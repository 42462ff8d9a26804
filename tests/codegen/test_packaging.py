"""What ships and what generation needs: the wheel's contents, and `generate` without the web stack."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.codegen.spec_fragments import mini_stripe
from tests.support.paths import REPO

WEB_STACK = ("starlette", "uvicorn", "httpx", "redis")

# Put first on sys.path, this makes importing any of WEB_STACK fail as if it were not installed.
BLOCKER = """
import sys
from importlib.abc import MetaPathFinder

BLOCKED = {blocked!r}


class Blocker(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)", name=name)
        return None


sys.meta_path.insert(0, Blocker())
"""


def blocked_env(folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(BLOCKER.format(blocked=WEB_STACK), encoding="utf-8")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.integration
def test_the_blocker_blocks(tmp_path):
    env = blocked_env(tmp_path / "site")
    for name in WEB_STACK:
        result = subprocess.run([sys.executable, "-c", f"import {name}"], env=env, capture_output=True, text=True)
        assert result.returncode == 1 and "blocked by the test" in result.stderr, name


@pytest.mark.integration
def test_generate_imports_none_of_the_web_stack(tmp_path):
    env = blocked_env(tmp_path / "site")
    spec = mini_stripe().write(tmp_path)
    out = tmp_path / "generated"
    result = subprocess.run(
        [sys.executable, "-m", "stripe_mcp", "generate", "--spec", str(spec), "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert (out / "manifest.json").is_file() and list((out / "tools").glob("create_a_stripe_customer.py"))
    check = subprocess.run(
        [sys.executable, "-m", "stripe_mcp", "generate", "--spec", str(spec), "--out", str(out), "--check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert check.returncode == 0, check.stderr + check.stdout


@pytest.mark.integration
def test_the_wheel_holds_stripe_mcp_alone_with_templates_overrides_and_generated_files(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", ".", "-w", str(tmp_path / "dist")],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = (tmp_path / "dist").glob("stripe_mcp-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"stripe_mcp", wheel.name.split("-py3")[0] + ".dist-info"}
    templates = sorted(p.name for p in (REPO / "src/stripe_mcp/codegen/templates").glob("*.j2"))
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("stripe_mcp/codegen/templates/")) == templates
    assert "stripe_mcp/codegen/overrides.yaml" in names
    generated = REPO / "src/stripe_mcp/generated"
    for folder, pattern in (("schemas", "*.json"), ("tools", "*.py"), ("models", "*.py")):
        expected = {f"stripe_mcp/generated/{folder}/{p.name}" for p in (generated / folder).glob(pattern)}
        assert expected and expected <= set(names), folder
    assert {"stripe_mcp/generated/manifest.json", "stripe_mcp/generated/search_index.json"} <= set(names)
