"""Generated Python as the pinned ruff leaves it: imports sorted, unused ones dropped, then formatted.

ruff runs isolated, with every setting given here, so no configuration file around the output
changes the bytes.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

LINE_LENGTH = 120
RUFF_SETTINGS = (
    "--isolated",
    f"--line-length={LINE_LENGTH}",
    "--target-version=py311",
    # datamodel-code-generator ends every call with a comma; joined, `ConfigDict(extra="forbid")` fits a line.
    "--config=format.skip-magic-trailing-comma = true",
    "--config=lint.isort.split-on-trailing-comma = false",
    "--quiet",
)


class FormattingError(Exception):
    """ruff refused a generated file: a bug of the generator, with ruff's own words."""


def ruff_binary() -> str:
    from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]  # ruff ships no type information

    return str(find_ruff_bin())


def format_python(files: dict[str, str]) -> dict[str, str]:
    """`files` (path -> text) with every `.py` file formatted; other files as they are."""
    python = {path: text for path, text in files.items() if path.endswith(".py")}
    with tempfile.TemporaryDirectory(prefix="stripe-mcp-format-") as folder:
        root = Path(folder)
        for path, text in python.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        ruff = ruff_binary()
        _run([ruff, "check", *RUFF_SETTINGS, "--select=I,F401", "--fix", "--exit-zero", "."], root)
        _run([ruff, "format", *RUFF_SETTINGS, "."], root)
        formatted = {path: (root / path).read_text(encoding="utf-8") for path in python}
    return {path: formatted.get(path, text) for path, text in files.items()}


def _run(command: list[str], folder: Path) -> None:
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise FormattingError(f"{' '.join(command[1:3])} failed: {(result.stderr or result.stdout).strip()[:2000]}")
