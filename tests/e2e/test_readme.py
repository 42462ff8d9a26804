"""The README's first hour, as written: its shell snippets run in order against a live `stripe-mcp serve`.

The snippets marked `<!-- readme-test: NAME -->` run with bash in a fresh directory, in the README's
order: first-run (the first `serve`, which writes the store and its key file), then admin-api and cli
on that same store, with `set -e -o pipefail` so that any step that fails stops the run. Two changes
only, because the machine is shared: the README's port 8000 becomes a free one (`:8000`, and `--port`
on `stripe-mcp serve`). The first command's install part is what .ci/run does; the Stripe key is a test key, and no
snippet calls Stripe. The rest of this module checks the README's words a new user relies on.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import httpx
import pytest

from stripe_mcp.tools.filters import ToolFilter, allowed_tools
from stripe_mcp.tools.registry import Registry
from tests.support.paths import REPO
from tests.support.runtime_process import free_port

README = (REPO / "README.md").read_text(encoding="utf-8")
MARKED = re.compile(r"<!-- readme-test: ([\w-]+) -->\n```bash\n(.*?)\n```", re.S)
SNIPPETS = dict(MARKED.findall(README))
START_TIMEOUT = 30.0
RUN_TIMEOUT = 90.0
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "readme", "version": "1"}},
}


# The first command's install part: .ci/run has installed the package already (the wheel test installs it alone).
INSTALL = "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && "


def here(script: str, port: int) -> str:
    script = script.removeprefix(INSTALL).replace(":8000", f":{port}")
    return re.sub(r"stripe-mcp serve\b", f"stripe-mcp serve --port {port}", script)


def environment(home: Path) -> dict[str, str]:
    """A new user's shell: the installed `stripe-mcp` on PATH, none of the project's variables set."""
    bin_dir = str(Path(sys.executable).parent)
    return {"PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": str(home), "LANG": "C.UTF-8"}


@contextmanager
def bash(script: str, cwd: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`script` in its own process group, so that what it starts in the background is stopped with it."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=cwd,
            env=environment(cwd),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        process.wait(10)


def wait_for(log: Path, pattern: str, process: subprocess.Popen[bytes]) -> re.Match[str]:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text(errors="replace"))
        if found:
            return found
        assert process.poll() is None, f"exited with {process.returncode}:\n{log.read_text()}"
        time.sleep(0.1)
    raise AssertionError(f"no {pattern!r} within {START_TIMEOUT} s:\n{log.read_text()}")


def test_the_readme_marks_its_runnable_snippets() -> None:
    assert list(SNIPPETS) == ["first-run", "admin-api", "cli"]
    # It opens with two commands: one installs and runs the server, one installs and runs the tests.
    first, second = re.findall(r"```bash\n(.*?)\n```", README, re.S)[:2]
    assert first == SNIPPETS["first-run"] and first.startswith(INSTALL) and first.endswith("stripe-mcp serve")
    assert second == "bash .ci/run"


@pytest.mark.integration
def test_the_readme_runs_as_written_in_order(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    # Run: the first start makes the store and its key file, and prints what a new user needs.
    first = tmp_path / "first-run.log"
    with bash(here(SNIPPETS["first-run"], port), tmp_path, first) as process:
        url = wait_for(first, r"read-only MCP server for STRIPE_API_KEY: (http://\S+)", process).group(1)
        printed = first.read_text()
        assert f"store: sqlite:///.stripe-mcp/store.sqlite3 ({tmp_path}/.stripe-mcp/store.sqlite3) (new)" in printed
        assert "admin console and API: closed (set STRIPE_MCP_ADMIN_TOKEN to open them at /admin)" in printed
        answer = httpx.post(url, json=INITIALIZE, headers={"accept": "application/json, text/event-stream"})
        assert answer.status_code == 200, answer.text
    assert (tmp_path / ".stripe-mcp" / "store.sqlite3.key").exists()

    # Managed servers, then the same from the command line, on that same store.
    managed = tmp_path / "managed.log"
    script = here(SNIPPETS["admin-api"] + "\n" + SNIPPETS["cli"], port)
    with bash(script, tmp_path, managed) as process:
        try:
            process.wait(RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the README's snippets did not finish in {RUN_TIMEOUT} s:\n{managed.read_text()}")
        printed = managed.read_text()
        assert process.returncode == 0, printed
        assert f"admin console: {base}/admin (sign in with STRIPE_MCP_ADMIN_TOKEN)" in printed
        assert "store: sqlite:///.stripe-mcp/store.sqlite3" in printed and "(new)" not in printed
        initialized = json.loads(re.search(r'^\{"jsonrpc".*$', printed, re.M).group(0))
        assert initialized["result"]["serverInfo"] == {
            "name": "stripe-mcp: support (read-only)",
            "version": metadata.version("stripe-mcp"),  # what `pip show stripe-mcp` says, not a constant
        }
        assert re.search(r"^created server srv_\w+; its MCP URL \(shown once\):$", printed, re.M)
        assert re.search(r"^srv_\w+  support desk  methods=read,create,update  tags=support  ", printed, re.M)
        assert re.search(r"^created API token tok_\w+ \(shown once\):$", printed, re.M)
        assert "Traceback" not in printed and "error:" not in printed
        # The admin API logged each provisioning step, as the console does.
        events = [json.loads(line)["event"] for line in printed.splitlines() if line.startswith('{"time"')]
        for event in ("admin API: account added", "admin API: API token created", "admin API: MCP server created"):
            assert event in events, event


def test_the_readme_s_example_server_runs_both_workflows() -> None:
    registry = Registry()
    config = json.loads(re.search(r'"config": (\{[^}]*\})', SNIPPETS["admin-api"]).group(1))
    example = set(allowed_tools(registry, ToolFilter(tuple(config["methods"]), tuple(config["tags"]))))
    workflows = README[README.index("### Workflows") : README.index("## Managed servers")]
    named = {name for name in re.findall(r"`([a-z_]+_stripe_[a-z_]+) \{", workflows)}
    reads = {name for name in named if registry.tools[name].kind in ("get", "list", "search")}
    assert len(reads) >= 5 and reads <= example
    assert f"tags `disputes` and `customers`: {len(example)} tools)" in README  # the count it states is true
    desk = set(allowed_tools(registry, ToolFilter(("read", "create", "update"), ("support",))))
    assert named | {"update_a_stripe_dispute_by_id"} <= desk


def test_every_curl_of_the_readme_checks_its_http_status() -> None:
    blocks = re.findall(r"```bash\n(.*?)\n```", README, re.S)
    calls = [line for block in blocks for line in block.splitlines() if re.match(r"\s*(\w+=\$\()?curl\b", line)]
    calls += re.findall(r"answer=\$\((curl[^)]*)", README)
    assert len(calls) >= 3
    for call in calls:
        assert "--fail" in call, call
    assert "| python" not in README  # an error body piped on turns into a KeyError


def test_the_readme_states_versions_and_paths_a_new_user_needs() -> None:
    assert "Python >= 3.11" in README and "python3 -m venv .venv" in README
    assert "Node >= 22.19" in README
    claude = json.loads(re.search(r'```json\n\s*(\{"mcpServers".*?)\n  ```', README, re.S).group(1))
    assert Path(claude["mcpServers"]["stripe"]["command"]).is_absolute()
    assert "STRIPE_MCP_ENCRYPTION_KEY=$(" not in README  # exporting a new key over the key file's store locks you out


def test_ci_run_says_what_it_installs() -> None:
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    installs = [
        i for i, line in enumerate(script) if re.search(r"pip install|install-conformance|apt-get install", line)
    ]
    assert len(installs) >= 3
    for index in installs:
        assert any(line.lstrip().startswith("step ") for line in script[max(0, index - 2) : index]), script[index]
        assert " -q " not in script[index] or "apt-get" in script[index], script[index]
