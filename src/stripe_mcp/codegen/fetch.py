"""Download Stripe's spec at a tag or commit of stripe/openapi and move the pin (specs/stripe.yaml) to it.

The spec is written OUTSIDE the repository (the repository carries no copy of any Stripe spec);
the pin records where it came from: API version, sha256, size, tag, commit and URL.

The download URL is `<base>/<commit or tag>/<source.path>`; the base comes from the pin's own
`source.url` (its `/<commit>/<path>` tail removed) unless `source_url` overrides it (a mirror, or a
test server). Without a ref, the newest `vN` tag is asked of the git remote of the repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stripe_mcp.codegen.loader import SpecError, load_api

DEFAULT_PIN = Path("specs") / "stripe.yaml"  # relative to the checkout `fetch-spec` runs in
DEFAULT_TIMEOUT = 60.0
MAX_BYTES = 64 * 1024 * 1024
COMMIT = re.compile(r"^[0-9a-f]{40}$")
VERSION_TAG = re.compile(r"^v(\d+(?:\.\d+)*)$")
PIN_HEADER = (
    "# The Stripe spec that generated/ is made from. The spec itself is never committed:\n"
    "# `stripe-mcp generate --spec PATH` reads it from a path, and `--check` fails when PATH is not this pin.\n"
)
PIN_KEYS = ("api_version", "sha256", "bytes", "source")
SOURCE_KEYS = ("repository", "tag", "commit", "path", "url")


@dataclass(frozen=True)
class Fetched:
    url: str
    out: Path
    pin: Path
    api_version: str
    sha256: str
    bytes: int
    tag: str | None
    commit: str | None


# The pin --------------------------------------------------------------------------------------


def checkout_root(start: Path | None = None) -> Path | None:
    """The checkout `fetch-spec` runs in: the nearest folder upwards holding the pin `specs/stripe.yaml`."""
    here = (start or Path.cwd()).resolve()
    return next((folder for folder in (here, *here.parents) if (folder / DEFAULT_PIN).is_file()), None)


def default_out(root: Path | None) -> Path:
    """Beside the checkout, never inside it: `../specs-cache/spec3.yaml`."""
    if root is None:
        raise SpecError(Path.cwd(), "", "is not inside a stripe-mcp checkout: give --out (and --pin)")
    return root.parent / "specs-cache" / "spec3.yaml"


def read_pin(path: Path) -> dict[str, Any]:
    try:
        pin = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(path, "", "no such file (the pin, specs/stripe.yaml)") from None
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(path, "", f"cannot be read as YAML ({exc})") from None
    if not isinstance(pin, dict) or not isinstance(pin.get("source"), dict):
        raise SpecError(path, "source", "missing: the pin needs source.repository, source.path and source.url")
    for key in ("repository", "path"):
        if not isinstance(pin["source"].get(key), str) or not pin["source"][key]:
            raise SpecError(path, f"source.{key}", "missing")
    return pin


def render_pin(pin: dict[str, Any], header: str = PIN_HEADER) -> str:
    """The pin as YAML, always the same text for the same values: fixed key order, one style."""
    lines = [header.rstrip("\n")] if header else []
    for key in PIN_KEYS:
        if key == "source":
            lines.append("source:")
            source = pin.get("source") or {}
            lines += [f"  {k}: {_scalar(source.get(k))}" for k in SOURCE_KEYS]
            lines += [f"  {k}: {_scalar(source[k])}" for k in sorted(source) if k not in SOURCE_KEYS]
        elif key == "api_version":
            lines.append(f"api_version: {json.dumps(str(pin.get(key)))}")  # quoted: a date must stay a string
        else:
            lines.append(f"{key}: {_scalar(pin.get(key))}")
    for key in sorted(k for k in pin if k not in PIN_KEYS):
        lines.append(f"{key}: {json.dumps(pin[key], ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (bool, int)):
        return json.dumps(value)
    text = str(value)
    plain = (
        re.fullmatch(r"[A-Za-z0-9_./:@+-]+", text)
        and yaml.safe_load(text) == text
        and not text.startswith(("-", ":", "@"))
    )
    return text if plain else json.dumps(text, ensure_ascii=False)


def _pin_header(path: Path) -> str:
    """The comment lines at the top of the existing pin, kept as they are."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return PIN_HEADER
    header = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    return "\n".join(header) + "\n" if header else ""


def download_base(pin: dict[str, Any], pin_path: Path) -> str:
    """https://host/stripe/openapi/<commit>/openapi/spec3.yaml -> https://host/stripe/openapi."""
    source = pin["source"]
    url = str(source.get("url") or "")
    suffix = "/" + source["path"].lstrip("/")
    if not url.endswith(suffix):
        raise SpecError(pin_path, "source.url", f"does not end with source.path ({source['path']}); pass --source-url")
    base, _, _ref = url[: -len(suffix)].rpartition("/")
    if not base.startswith(("http://", "https://")):
        raise SpecError(pin_path, "source.url", "not an http(s) URL; pass --source-url")
    return base


# Tags -----------------------------------------------------------------------------------------


def remote_tags(remote: str, timeout: float = DEFAULT_TIMEOUT, hint: str = "") -> dict[str, str]:
    """Tag -> commit, from `git ls-remote --tags` (annotated tags peeled to their commit)."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        result = subprocess.run(
            ["git", "ls-remote", "--tags", remote], capture_output=True, text=True, timeout=timeout, env=env
        )
    except FileNotFoundError:
        raise SpecError(remote, "", f"git is not installed: it lists the tags{hint}") from None
    except subprocess.TimeoutExpired:
        raise SpecError(remote, "", f"git ls-remote timed out after {timeout:g} s{hint}") from None
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise SpecError(remote, "", f"cannot list tags ({reason}){hint}")
    tags: dict[str, str] = {}
    peeled: dict[str, str] = {}
    for line in result.stdout.splitlines():
        sha, _, ref = line.partition("\t")
        if not ref.startswith("refs/tags/"):
            continue
        name = ref[len("refs/tags/") :]
        if name.endswith("^{}"):
            peeled[name[:-3]] = sha
        else:
            tags[name] = sha
    return {name: peeled.get(name, sha) for name, sha in tags.items()}


def newest_tag(remote: str, timeout: float = DEFAULT_TIMEOUT) -> tuple[str, str]:
    """The highest vN (or vN.M...) tag of the remote and its commit."""
    tags = remote_tags(remote, timeout, hint="; pass --ref")
    versions = {name: tuple(int(p) for p in m.group(1).split(".")) for name in tags if (m := VERSION_TAG.match(name))}
    if not versions:
        raise SpecError(remote, "", "has no vN tags; pass --ref")
    name = max(versions, key=lambda n: versions[n])
    return name, tags[name]


def _commit_of(remote: str, tag: str, timeout: float) -> str:
    tags = remote_tags(remote, timeout, hint="; pass a commit as --ref, or --source-url to download by tag")
    if tag not in tags:
        raise SpecError(remote, "", f"has no tag {tag}")
    return tags[tag]


# Download -------------------------------------------------------------------------------------


def download(url: str, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = MAX_BYTES) -> bytes:
    """The body of a 200 answer; SpecError (naming the URL) for anything else."""
    import httpx  # only here: generating from a spec on disk needs no HTTP client

    deadline = time.monotonic() + timeout * 5
    limits = httpx.Timeout(timeout, connect=min(timeout, 15.0))
    try:
        with httpx.Client(timeout=limits, follow_redirects=True, trust_env=True) as client:
            with client.stream(
                "GET", url, headers={"Accept": "application/yaml, application/json, text/plain, */*"}
            ) as response:
                if response.status_code != 200:
                    raise SpecError(
                        url,
                        "",
                        f"HTTP {response.status_code} {response.reason_phrase}".rstrip() + " (no spec at this ref?)",
                    )
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise SpecError(url, "", f"larger than {max_bytes} bytes: not a spec")
                    if time.monotonic() > deadline:
                        raise SpecError(url, "", f"download took longer than {timeout * 5:g} s")
                    chunks.append(chunk)
                return b"".join(chunks)
    except httpx.TimeoutException:
        raise SpecError(url, "", f"timed out (limit {timeout:g} s)") from None
    except httpx.HTTPError as exc:
        raise SpecError(url, "", f"cannot download ({type(exc).__name__}: {exc})") from None


# The whole step -------------------------------------------------------------------------------


def fetch_spec(
    ref: str | None = None,
    out: Path | None = None,
    pin_path: Path | None = None,
    source_url: str | None = None,
    remote: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Fetched:
    """Download, check it is an OpenAPI 3 spec, write it to `out`, then rewrite the pin."""
    root = checkout_root()
    pin_path = Path(pin_path or (root or Path.cwd()) / DEFAULT_PIN)
    out = Path(out or default_out(root)).resolve()
    for repository in {r for r in (root, checkout_root(pin_path.parent)) if r is not None}:
        if out == repository or repository in out.parents:
            raise SpecError(
                out,
                "",
                f"is inside the repository ({repository}): Stripe's spec is never kept in it; write it elsewhere",
            )
    pin = read_pin(pin_path)
    source = pin["source"]
    base = (source_url or download_base(pin, pin_path)).rstrip("/")
    if remote is None and source_url is None:
        remote = f"https://github.com/{source['repository']}.git"

    tag: str | None
    commit: str | None
    if ref is None:
        if remote is None:
            raise SpecError(base, "", "no --ref given and no git remote to find the newest tag: pass --ref or --remote")
        tag, commit = newest_tag(remote, timeout)
    elif COMMIT.match(ref):
        tag, commit = None, ref
    else:
        tag = ref
        commit = _commit_of(remote, ref, timeout) if remote else None

    url = f"{base}/{commit or tag}/{source['path'].lstrip('/')}"
    body = download(url, timeout)
    api_version = _check_spec(body, url, out)

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)[1])
    try:
        staging.write_bytes(body)
        staging.replace(out)
    finally:
        staging.unlink(missing_ok=True)

    digest = hashlib.sha256(body).hexdigest()
    updated = dict(pin)
    updated.update(api_version=api_version, sha256=digest, bytes=len(body))
    updated["source"] = {**source, "tag": tag, "commit": commit, "url": url}
    _write_atomically(pin_path, render_pin(updated, _pin_header(pin_path)))
    return Fetched(url, out, pin_path, api_version, digest, len(body), tag, commit)


def _check_spec(body: bytes, url: str, out: Path) -> str:
    """The API version of a downloaded spec; SpecError naming the URL when it is not OpenAPI 3."""
    with tempfile.TemporaryDirectory(prefix="stripe-spec-") as folder:
        suffix = ".json" if body.lstrip()[:1] in (b"{", b"[") else ".yaml"
        path = Path(folder) / f"spec{suffix}"
        path.write_bytes(body)
        try:
            return load_api(path).version
        except SpecError as exc:
            raise SpecError(url, exc.place, exc.message) from None


def _write_atomically(path: Path, text: str) -> None:
    staging = path.with_name(f".{path.name}.new")
    staging.write_text(text, encoding="utf-8")
    staging.replace(path)
