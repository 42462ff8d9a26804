"""Fresh virtual environments for the benchmark: the project as a user installs it, and FastMCP in one of its own."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

INSTALL_TIMEOUT = 900.0
FASTMCP = "fastmcp==4.2.3"


@dataclass(frozen=True)
class Venv:
    path: Path
    installed_in: float  # seconds the install took (0 when reused)

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    def script(self, name: str) -> str:
        return str(self.path / "bin" / name)


def make(path: Path, *requirements: str, reuse: bool) -> Venv:
    """A new venv at `path` with `requirements` installed by pip (`-e DIR` for editable); kept as is with `reuse`."""
    if reuse and (path / "bin" / "python").exists():
        return Venv(path, 0.0)
    shutil.rmtree(path, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    subprocess.run(
        [str(path / "bin" / "python"), "-m", "pip", "install", "-q", *requirements],
        check=True,
        timeout=INSTALL_TIMEOUT,
    )
    return Venv(path, time.perf_counter() - started)


def clean_checkout(root: Path, target: Path, *, reuse: bool) -> Path:
    """The project's sources as a clean clone has them: no __pycache__ that an earlier run in `root` left."""
    if reuse and target.exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(root / name, target / name)
    shutil.copytree(root / "src", target / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return target


def project_venvs(root: Path, where: Path, *, reuse: bool, fastmcp: bool) -> dict[str, Venv]:
    """editable: `pip install -e .` of a clean copy of the sources (what CI runs: under PYTHONDONTWRITEBYTECODE=1
    no bytecode of the package is ever cached); wheel: `pip install .` (what `pip install stripe-mcp` gives:
    compiled at install); fastmcp: FastMCP alone."""
    where.mkdir(parents=True, exist_ok=True)
    checkout = clean_checkout(root, where / "checkout", reuse=reuse)
    venvs = {
        "editable": make(where / "editable", "-e", str(checkout), reuse=reuse),
        "wheel": make(where / "wheel", str(root), reuse=reuse),
    }
    if fastmcp:
        venvs["fastmcp"] = make(where / "fastmcp", FASTMCP, reuse=reuse)
    return venvs
