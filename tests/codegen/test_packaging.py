"""What ships and what generation needs: the wheel's contents, and `generate` without the web stack."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.codegen.spec_fragments import mini_stripe
from tests.support.paths import REPO, SPEC
from tests.support.runtime_process import free_port

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


def blocked_env(folder: Path, blocked: tuple[str, ...] = WEB_STACK) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(BLOCKER.format(blocked=blocked), encoding="utf-8")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.integration
def test_the_blocker_blocks(tmp_path):
    env = blocked_env(tmp_path / "site")
    for name in WEB_STACK:
        result = subprocess.run([sys.executable, "-c", f"import {name}"], env=env, capture_output=True, text=True)
        assert result.returncode == 1 and "blocked by the test" in result.stderr, name


@pytest.mark.integration
@pytest.mark.parametrize("missing", ["yaml", "jinja2", "datamodel_code_generator", "ruff"])
def test_the_generator_commands_without_the_codegen_extra_say_how_to_install_it(tmp_path, missing):
    """`pip install stripe-mcp` has no codegen extra: generate, diff and fetch-spec say so instead of a traceback."""
    env = blocked_env(tmp_path / "site", (missing,))
    spec = mini_stripe().write(tmp_path)
    for command in (
        ["generate", "--spec", str(spec), "--out", str(tmp_path / "out")],
        ["diff", str(spec), str(spec)],
        ["fetch-spec", "--ref", "v1", "--out", str(tmp_path / "s.yaml"), "--source-url", "http://127.0.0.1:9/"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "stripe_mcp", *command], env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 2, (command, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.stderr.strip() == (
            f"error: `stripe-mcp {command[0]}` needs the code generator's dependencies, and {missing} is not "
            "installed: pip install 'stripe-mcp[codegen]'"
        )
    assert not (tmp_path / "out").exists()


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


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from the checkout's committed parts, as a release would be."""
    tmp_path = tmp_path_factory.mktemp("wheel")
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
    (built,) = (tmp_path / "dist").glob("stripe_mcp-*.whl")
    return built


@pytest.mark.integration
def test_the_wheel_holds_stripe_mcp_alone_with_templates_overrides_and_generated_files(wheel: Path) -> None:
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


RUNTIME_IMPORTS = """
import importlib, pkgutil, stripe_mcp
runtime = [m.name for m in pkgutil.walk_packages(stripe_mcp.__path__, "stripe_mcp.")
           if not m.name.startswith(("stripe_mcp.codegen", "stripe_mcp.generated", "stripe_mcp.__main__"))]
for name in runtime:
    importlib.import_module(name)
print(len(runtime))
"""


def pip_install(python: Path, requirement: str) -> None:
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", requirement], capture_output=True, text=True, timeout=900
    )
    assert install.returncode == 0, install.stderr[-3000:]


@pytest.mark.integration
def test_installed_from_the_wheel_outside_any_checkout_it_serves_then_generates(wheel: Path, tmp_path: Path) -> None:
    """A new venv and a folder that is no checkout. The wheel alone, as `pip install stripe-mcp` gives it: every
    runtime module imports and `serve` answers tools/list. Then with its codegen extra: `generate`."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    pip_install(python, str(wheel))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    imported = subprocess.run(
        [str(python), "-c", RUNTIME_IMPORTS], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300
    )
    assert imported.returncode == 0, imported.stderr[-3000:]
    assert int(imported.stdout) > 100

    port = free_port()
    log = elsewhere / "serve.log"
    serve_env = {**env, "STRIPE_API_KEY": "sk_test_wheel_install_0000"}
    command = [str(venv / "bin" / "stripe-mcp"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as sink:
        process = subprocess.Popen(command, cwd=elsewhere, env=serve_env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        url = None
        while url is None and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
            found = re.search(r"(http://\S+/mcp/\S+)", log.read_text())
            url = found.group(1) if found else None
        assert url, log.read_text()
        headers = {
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": "2026-07-28",
            "mcp-method": "tools/list",
        }
        meta = {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        }
        answer = httpx.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta}},
            headers=headers,
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        names = {tool["name"] for tool in answer.json()["result"]["tools"]}
        assert "get_single_stripe_balance_by_id" in names and "create_a_stripe_refund" not in names  # read-only
    finally:
        process.terminate()
        process.wait(timeout=30)

    pip_install(python, f"{wheel}[codegen]")
    out = elsewhere / "out"
    generated = subprocess.run(
        [str(venv / "bin" / "stripe-mcp"), "generate", "--spec", str(SPEC), "--out", str(out)],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert generated.returncode == 0, generated.stderr[-3000:]
    assert len(list((out / "tools").glob("*_stripe_*.py"))) == 468
    assert len(list((out / "schemas").glob("*.json"))) == 468
