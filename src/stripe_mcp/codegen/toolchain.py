"""The generator's own tools, pinned: `generate --check` compares bytes, so an unpinned version must not run.

The pins are the `codegen` extra of the package (pyproject.toml); what is installed must match them.
"""

from __future__ import annotations

import re
from importlib import metadata

DISTRIBUTION = "stripe-mcp"
PIN = re.compile(r'^(?P<name>[A-Za-z0-9_.-]+)==(?P<version>[^;\s]+)\s*;\s*extra\s*==\s*"codegen"\s*$')


class ToolchainError(Exception):
    """A generator tool is missing or not the pinned version."""


def pins() -> dict[str, str]:
    """Distribution name -> the exact version the `codegen` extra pins."""
    try:
        requirements = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        raise ToolchainError(f"{DISTRIBUTION} is not installed, so its pinned generator versions are unknown") from None
    found = {m["name"].lower(): m["version"] for r in requirements if (m := PIN.match(r))}
    if not found:
        raise ToolchainError(f"{DISTRIBUTION} pins no generator versions (its `codegen` extra)")
    return found


def check_pins() -> None:
    """Every pinned tool installed at its pinned version, or one error naming each that is not."""
    problems = []
    for name, pinned in sorted(pins().items()):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name} is not installed (pinned {pinned})")
            continue
        if installed != pinned:
            problems.append(f"{name} {installed} is installed, {pinned} is pinned")
    if problems:
        raise ToolchainError(
            "; ".join(problems) + f": install the pinned versions with pip install '{DISTRIBUTION}[codegen]'"
        )
