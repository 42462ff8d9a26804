"""`stripe-mcp fetch-spec` and scripts/regenerate.sh, against a loopback HTTP server (no internet).

The server stands in for the raw-file host of stripe/openapi: `/stripe/openapi/<ref>/openapi/spec3.yaml`
answers a small valid spec for known refs, 404 for others, and an HTML page or a Swagger 2 file
for the refs `html` and `swagger`. The pin is always a copy of specs/stripe.yaml.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from stripe_mcp.codegen.fetch import newest_tag, read_pin, remote_tags, render_pin
from stripe_mcp.codegen.loader import SpecError
from tests.codegen.spec_pairs import widget_pair
from tests.support.paths import REPO as ROOT

PIN = ROOT / "specs" / "stripe.yaml"
SPEC_PATH = "openapi/spec3.yaml"


def spec_yaml(new: bool) -> bytes:
    return yaml.safe_dump(widget_pair()[1 if new else 0].document(), sort_keys=True).encode()


class Server:
    """Refs -> bodies; anything else is a 404. `slow` answers after `delay` seconds."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {
            "v1": spec_yaml(new=False),
            "v2": spec_yaml(new=True),
            "html": b"<!doctype html><html><body>Not Found, but with a 200</body></html>\n",
            "swagger": b"swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}\n",
            "slow": spec_yaml(new=True),
        }
        self.delay = 3.0
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.requests.append(self.path)
                prefix, suffix = "/stripe/openapi/", "/" + SPEC_PATH
                ref = (
                    self.path[len(prefix) : -len(suffix)]
                    if self.path.startswith(prefix) and self.path.endswith(suffix)
                    else None
                )
                body = server.bodies.get(ref or "")
                if ref == "slow":
                    time.sleep(server.delay)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/stripe/openapi"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server():
    with Server() as running:
        yield running


@pytest.fixture
def pin(tmp_path) -> Path:
    copy = tmp_path / "pin" / "stripe.yaml"
    copy.parent.mkdir()
    shutil.copyfile(PIN, copy)
    return copy


def cli(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stripe_mcp", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd or ROOT,
    )


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture(scope="module")
def tagged_remote(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A local git repository standing in for stripe/openapi's tags: v2, v9 (annotated), v10, beta."""
    repo = tmp_path_factory.mktemp("remote")
    git(repo, "init", "-q")
    commits = {}
    for tag, annotated in (("v2", False), ("v9", True), ("v10", False), ("beta", False)):
        git(repo, "commit", "-q", "--allow-empty", "-m", tag)
        commits[tag] = git(repo, "rev-parse", "HEAD")
        git(repo, "tag", *(["-a", "-m", tag] if annotated else []), tag)
    return repo, commits


# fetch-spec ---------------------------------------------------------------------------------------


@pytest.mark.integration
def test_fetch_writes_the_spec_and_updates_the_pin_copy(server, pin, tmp_path):
    real_pin = PIN.read_bytes()
    out = tmp_path / "cache" / "spec3.yaml"
    result = cli("fetch-spec", "--ref", "v2", "--out", out, "--pin", pin, "--source-url", server.base)
    assert result.returncode == 0, result.stderr
    body = server.bodies["v2"]
    assert out.read_bytes() == body
    updated = yaml.safe_load(pin.read_text())
    assert updated == {
        "api_version": "2099-06-01",
        "sha256": hashlib.sha256(body).hexdigest(),
        "bytes": len(body),
        "source": {
            "repository": "stripe/openapi",
            "tag": "v2",
            "commit": None,
            "path": SPEC_PATH,
            "url": f"{server.base}/v2/{SPEC_PATH}",
        },
    }
    assert pin.read_text().startswith("# The Stripe spec that generated/ is made from.")  # header kept
    assert pin.read_text() == render_pin(
        read_pin(pin), "".join(line + "\n" for line in pin.read_text().splitlines() if line.startswith("#"))
    )
    assert "fetched Stripe API 2099-06-01 (v2" in result.stdout
    assert PIN.read_bytes() == real_pin  # the real pin is never touched


@pytest.mark.integration
def test_a_commit_ref_is_recorded_as_the_commit(server, pin, tmp_path):
    commit = "0123456789abcdef0123456789abcdef01234567"
    server.bodies[commit] = server.bodies["v1"]
    result = cli("fetch-spec", "--ref", commit, "--out", tmp_path / "s.yaml", "--pin", pin, "--source-url", server.base)
    assert result.returncode == 0, result.stderr
    source = yaml.safe_load(pin.read_text())["source"]
    assert (source["tag"], source["commit"], source["url"]) == (None, commit, f"{server.base}/{commit}/{SPEC_PATH}")


@pytest.mark.integration
def test_the_newest_tag_comes_from_the_remote(server, pin, tmp_path, tagged_remote):
    remote, commits = tagged_remote
    assert remote_tags(str(remote))["v9"] == commits["v9"]  # the annotated tag peeled to its commit
    assert newest_tag(str(remote)) == ("v10", commits["v10"])  # numeric order: v10 > v9 > v2
    server.bodies[commits["v10"]] = server.bodies["v2"]
    result = cli(
        "fetch-spec", "--out", tmp_path / "s.yaml", "--pin", pin, "--source-url", server.base, "--remote", remote
    )
    assert result.returncode == 0, result.stderr
    source = yaml.safe_load(pin.read_text())["source"]
    assert (source["tag"], source["commit"]) == ("v10", commits["v10"])
    assert source["url"] == f"{server.base}/{commits['v10']}/{SPEC_PATH}"  # downloaded by commit: immutable

    server.bodies[commits["v9"]] = server.bodies["v1"]
    result = cli(
        "fetch-spec",
        "--ref",
        "v9",
        "--out",
        tmp_path / "s.yaml",
        "--pin",
        pin,
        "--source-url",
        server.base,
        "--remote",
        remote,
    )
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(pin.read_text())["source"]["commit"] == commits["v9"]
    unknown = cli(
        "fetch-spec",
        "--ref",
        "v77",
        "--out",
        tmp_path / "s.yaml",
        "--pin",
        pin,
        "--source-url",
        server.base,
        "--remote",
        remote,
    )
    assert unknown.returncode == 2 and unknown.stderr.strip() == f"error: {remote}: has no tag v77"


def test_the_pin_is_rewritten_deterministically():
    text = PIN.read_text()
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    assert render_pin(read_pin(PIN), header) == text


@pytest.mark.integration
@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("v404", "HTTP 404 Not Found"),
        ("html", "not an OpenAPI document"),
        ("swagger", "not an OpenAPI 3 document"),
    ],
)
def test_bad_answers_are_one_error_line_and_change_nothing(server, pin, tmp_path, ref, message):
    before = pin.read_bytes()
    out = tmp_path / "s.yaml"
    result = cli("fetch-spec", "--ref", ref, "--out", out, "--pin", pin, "--source-url", server.base)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert (
        len(lines) == 1 and lines[0].startswith(f"error: {server.base}/{ref}/{SPEC_PATH}: ") and message in lines[0]
    ), result.stderr
    assert not out.exists() and pin.read_bytes() == before


@pytest.mark.integration
def test_network_failure_and_timeout_are_clean_errors(server, pin, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/stripe/openapi"
    result = cli("fetch-spec", "--ref", "v2", "--out", tmp_path / "s.yaml", "--pin", pin, "--source-url", closed)
    assert (
        result.returncode == 2
        and result.stderr.startswith("error: ")
        and "cannot download (ConnectError" in result.stderr
    )
    assert len(result.stderr.strip().splitlines()) == 1

    from stripe_mcp.codegen.fetch import fetch_spec

    started = time.monotonic()
    with pytest.raises(SpecError, match="timed out"):
        fetch_spec(ref="slow", out=tmp_path / "s.yaml", pin_path=pin, source_url=server.base, timeout=0.5)
    assert time.monotonic() - started < server.delay


@pytest.mark.integration
def test_the_spec_is_never_written_inside_the_repository(server, pin):
    result = cli(
        "fetch-spec", "--ref", "v2", "--out", ROOT / "specs" / "spec3.yaml", "--pin", pin, "--source-url", server.base
    )
    assert result.returncode == 2 and "inside the repository" in result.stderr
    assert not (ROOT / "specs" / "spec3.yaml").exists()


def test_default_download_base_comes_from_the_pin():
    from stripe_mcp.codegen.fetch import checkout_root, default_out, download_base

    pin = read_pin(PIN)
    base = download_base(pin, PIN)
    assert pin["source"]["url"] == f"{base}/{pin['source']['commit']}/{SPEC_PATH}"
    assert checkout_root(ROOT / "src") == ROOT
    assert ROOT not in default_out(ROOT).parents


# scripts/regenerate.sh --no-publish ---------------------------------------------------------------

REPO_PARTS = ("src", "specs", "scripts", "pyproject.toml")


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory) -> Path:
    """The repository's code in a temporary folder (no .git), its generated/ made from the old widget spec."""
    copy = tmp_path_factory.mktemp("repo") / "stripe-mcp"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in REPO_PARTS:
        source = ROOT / part
        (
            shutil.copytree(source, copy / part, ignore=ignore)
            if source.is_dir()
            else shutil.copyfile(source, copy / part)
        )
    old_spec = widget_pair()[0].write(copy.parent, "old-spec.json")
    result = cli("generate", "--spec", old_spec, "--out", copy / "src" / "stripe_mcp" / "generated", cwd=copy)
    assert result.returncode == 0, result.stderr
    return copy


def run_script(copy: Path, *args) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "PYTHON": sys.executable}
    env.pop("GITHUB_OUTPUT", None)
    return subprocess.run(
        ["bash", str(copy / "scripts" / "regenerate.sh"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=copy,
        env=env,
    )


@pytest.mark.integration
def test_regenerate_no_publish_end_to_end(server, repo_copy):
    work = repo_copy.parent
    spec, report = work / "cache" / "spec3.yaml", work / "body.md"
    args = ("--no-publish", "--ref", "v2", "--source-url", server.base, "--spec", spec, "--report", report)
    result = run_script(repo_copy, *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "changed=true"
    body = report.read_text()
    assert body.startswith("Regenerated `generated/` from Stripe's spec at stripe/openapi `v2` (API 2099-06-01")
    assert "## Stripe tool changes: API 2099-01-01 → 2099-06-01" in body
    assert "### Breaking changes" in body and "- `delete_a_stripe_widget_by_id` (DELETE /v1/widgets/{widget})" in body
    assert "argument `legacy_code` removed" in body and "### Additive changes" in body
    assert json.loads((work / "body.json").read_text())["summary"]["tools_removed"] == 2  # the JSON report beside it
    pin = yaml.safe_load((repo_copy / "specs" / "stripe.yaml").read_text())
    assert pin["api_version"] == "2099-06-01" and pin["source"]["tag"] == "v2"
    assert pin["sha256"] == hashlib.sha256(spec.read_bytes()).hexdigest()
    check = cli(
        "generate", "--spec", spec, "--out", repo_copy / "src" / "stripe_mcp" / "generated", "--check", cwd=repo_copy
    )
    assert check.returncode == 0, check.stdout

    again = run_script(repo_copy, *args)  # the same spec again: nothing to publish
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1] == "changed=false"
    assert "No tool changes." in report.read_text()


@pytest.mark.integration
def test_regenerate_fails_cleanly_on_a_bad_ref(server, repo_copy):
    before = (repo_copy / "specs" / "stripe.yaml").read_bytes()
    result = run_script(
        repo_copy,
        "--no-publish",
        "--ref",
        "v404",
        "--source-url",
        server.base,
        "--spec",
        repo_copy.parent / "cache2" / "spec3.yaml",
        "--report",
        repo_copy.parent / "b2.md",
    )
    assert result.returncode != 0
    assert "error: " in result.stderr and "HTTP 404" in result.stderr
    assert (repo_copy / "specs" / "stripe.yaml").read_bytes() == before
