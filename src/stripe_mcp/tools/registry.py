"""The generated tools: the manifest at start, a schema or a module on first use."""

from __future__ import annotations

import ctypes
import gc
import importlib
import json
import os
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

from stripe_mcp.tools.approvals import APPROVAL_ID_ARGUMENT
from stripe_mcp.tools.object_fields import ObjectFields

DEFAULT_PACKAGE = "stripe_mcp.generated"
DEFAULT_MAX_LOADED_MODULES = 24
RELEASE_EVERY_EVICTIONS = 12
# Added to the input schema of the tools that need a person's approval on a server (tools/approvals.py).
APPROVAL_ID_SCHEMA = {
    "type": "string",
    "maxLength": 64,
    "description": "Only after a person approved this call: the id the approval_required error gave. Send it with "
    "exactly the approved arguments; the call then runs once, and calling again returns the same result.",
}


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


MALLOC_TRIM = _malloc_trim()


def trim_heap() -> None:
    """Hand freed heap back to the OS (glibc)."""
    if MALLOC_TRIM is not None:
        MALLOC_TRIM(0)


def release_memory() -> None:
    """Collect the cycles evicted pydantic models leave, and hand freed heap back to the OS."""
    gc.collect()
    trim_heap()


@dataclass(frozen=True)
class ToolEntry:
    name: str
    title: str
    description: str
    kind: str
    method: str
    path: str
    resource: str
    areas: tuple[str, ...]  # functional areas, the main one first
    tags: tuple[str, ...]  # the areas, then the resource returned: what a server's tags filter matches
    annotations: dict[str, Any]
    arguments: tuple[str, ...]


class Registry:
    def __init__(self, package: str = DEFAULT_PACKAGE, max_loaded_modules: int = DEFAULT_MAX_LOADED_MODULES) -> None:
        self.package = package
        self.max_loaded_modules = max_loaded_modules
        self._loaded: OrderedDict[str, ModuleType] = OrderedDict()
        self._evictions = 0
        module_file = importlib.import_module(package).__file__
        assert module_file is not None
        self.root = Path(module_file).parent
        self._schemas = os.path.join(self.root, "schemas")  # a string: tools/list joins 468 names to it
        manifest = orjson.loads((self.root / "manifest.json").read_bytes())
        self.api_version: str = manifest["api_version"]
        self.spec_sha256: str = manifest["spec_sha256"]
        self.tools: dict[str, ToolEntry] = {
            raw["name"]: ToolEntry(
                name=raw["name"],
                title=raw["title"],
                description=raw["description"],
                kind=raw["kind"],
                method=raw["method"],
                path=raw["path"],
                resource=raw["resource"],
                areas=tuple(raw["areas"]),
                tags=tuple(raw["tags"]),
                annotations=raw["annotations"],
                arguments=tuple(raw["arguments"]),
            )
            for raw in manifest["tools"]
        }
        self._tools_json = lru_cache(maxsize=64)(self._serialize_tools)

    @property
    def areas(self) -> dict[str, tuple[str, ...]]:
        """Each functional area and the tools it brings, in registry order; areas sorted by name."""
        members: dict[str, list[str]] = {}
        for entry in self.tools.values():
            for area in entry.areas:
                members.setdefault(area, []).append(entry.name)
        return {area: tuple(members[area]) for area in sorted(members)}

    def __contains__(self, name: object) -> bool:
        return name in self.tools

    @cached_property
    def fields(self) -> ObjectFields:
        """The fields of what each read tool returns (generated/fields.json), read on first use."""
        return ObjectFields(self.root / "fields.json")

    def schema_text(self, name: str) -> str:
        """The input schema as generated, compacted, without the file's `$comment` mark."""
        return self._schema_json(name).decode()

    def _schema_json(self, name: str) -> bytes:
        return _compact_schema(os.path.join(self._schemas, name + ".json"))

    def input_schema(self, name: str, *, approval: bool = False) -> dict[str, Any]:
        """The tool's input schema; with `approval`, it also takes the `approval_id` of a person's yes."""
        schema: dict[str, Any] = json.loads(self.schema_text(name))
        if approval:
            schema.setdefault("properties", {})[APPROVAL_ID_ARGUMENT] = APPROVAL_ID_SCHEMA
        return schema

    def module(self, name: str) -> ModuleType:
        """The tool's module, imported on first use and kept among the most recently used.

        Each module's pydantic models cost ~0.13 MB; keeping at most `max_loaded_modules` bounds
        the memory of a server whose agents roam over the whole API.
        """
        if name not in self.tools:
            raise KeyError(name)
        module = self._loaded.pop(name, None)
        if module is None:
            module = importlib.import_module(f"{self.package}.tools.{name}")
        self._loaded[name] = module
        while len(self._loaded) > self.max_loaded_modules:
            evicted, _ = self._loaded.popitem(last=False)
            sys.modules.pop(f"{self.package}.tools.{evicted}", None)
            tools_package = sys.modules.get(f"{self.package}.tools")
            if tools_package is not None and hasattr(tools_package, evicted):
                delattr(tools_package, evicted)
            self._evictions += 1
            if self._evictions % RELEASE_EVERY_EVICTIONS == 0:
                release_memory()
        return module

    def tools_json(
        self, names: Iterable[str], extra: tuple[str, ...] = (), approval: frozenset[str] = frozenset()
    ) -> bytes:
        """The MCP tool objects of `names` and then `extra` (tool objects already as JSON, such as query_stripe's),
        serialized once per distinct set and then cached; the tools in `approval` need a person's yes, so their
        schemas take `approval_id`."""
        return self._tools_json(tuple(names), extra, approval)

    def _serialize_tools(self, names: tuple[str, ...], extra: tuple[str, ...], approval: frozenset[str]) -> bytes:
        try:
            return self._join_tools(names, extra, approval)
        finally:
            trim_heap()  # the parse-and-compact garbage of up to 468 schemas (no cycles), once per tool set

    def _join_tools(self, names: tuple[str, ...], extra: tuple[str, ...], approval: frozenset[str]) -> bytes:
        parts = []
        for name in names:
            entry = self.tools[name]
            schema = self._schema_json(name)
            if name in approval:
                schema = orjson.dumps(self.input_schema(name, approval=True))
            about = {"name": entry.name, "title": entry.title, "description": entry.description}
            head = orjson.dumps(about)[:-1]  # the object left open for inputSchema and annotations
            parts.append(b'%s,"inputSchema":%s,"annotations":%s}' % (head, schema, orjson.dumps(entry.annotations)))
        return b"[" + b",".join([*parts, *(tool.encode() for tool in extra)]) + b"]"


@lru_cache(maxsize=64)
def _compact_schema(path: str) -> bytes:
    # orjson: the same compact JSON as the standard library's, five times faster over 468 schemas at start-up.
    with open(path, "rb") as file:
        schema = orjson.loads(file.read())
    schema.pop("$comment", None)  # the file's generated-file mark, for its readers: never served
    return orjson.dumps(schema)
