"""Which tools a server may use: method and tag filters, decided once and enforced on every call."""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from stripe_mcp.tools.registry import Registry, ToolEntry

KINDS = ("get", "list", "search", "create", "update", "delete", "custom")
METHOD_GROUPS = {"read": ("get", "list", "search"), "write": ("create", "update", "delete", "custom")}
EXPOSURES = ("all", "discovery", "chatgpt")
REMEMBERED_FILTERS = 256  # per registry: servers with the same filter share one tuple and one set of names


class PolicyError(ValueError):
    """A server configuration that cannot be honoured, e.g. a filter that leaves no tool."""


@dataclass(frozen=True)
class ToolFilter:
    methods: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @cached_property
    def kinds(self) -> frozenset[str]:
        if not self.methods:
            return frozenset(KINDS)
        return frozenset(k for m in self.methods for k in METHOD_GROUPS.get(m, (m,)))

    def allows(self, tool: ToolEntry) -> bool:
        if tool.kind not in self.kinds:
            return False
        return not self.tags or not set(self.tags).isdisjoint(tool.tags)


def validate_filter(registry: Registry, methods: Iterable[str], tags: Iterable[str]) -> ToolFilter:
    methods, tags = tuple(methods), tuple(tags)
    unknown = [m for m in methods if m not in METHOD_GROUPS and m not in KINDS]
    if unknown:
        allowed = ", ".join([*METHOD_GROUPS, *KINDS])
        raise PolicyError(f"unknown method(s) {', '.join(unknown)}; use {allowed}")
    known_tags = {t for tool in registry.tools.values() for t in tool.tags}
    unknown_tags = [t for t in tags if t not in known_tags]
    if unknown_tags:
        raise PolicyError(
            f"unknown tag(s) {', '.join(unknown_tags)}; use functional areas ({', '.join(registry.areas)}) "
            "or resources (charge, customer, dispute, refund, ...)"
        )
    tool_filter = ToolFilter(methods, tags)
    if not allowed_tools(registry, tool_filter):
        raise PolicyError("the methods and tags filters together leave no tool")
    return tool_filter


def allowed_tools(registry: Registry, tool_filter: ToolFilter) -> tuple[str, ...]:
    """The names of the tools `tool_filter` leaves, in registry order."""
    return _allowed(registry, tool_filter)[0]


def allowed_tool_set(registry: Registry, tool_filter: ToolFilter) -> frozenset[str]:
    """The same names as a set, for a membership test on every call."""
    return _allowed(registry, tool_filter)[1]


_REMEMBERED: weakref.WeakKeyDictionary[Registry, OrderedDict[ToolFilter, tuple[tuple[str, ...], frozenset[str]]]]
_REMEMBERED = weakref.WeakKeyDictionary()


def _allowed(registry: Registry, tool_filter: ToolFilter) -> tuple[tuple[str, ...], frozenset[str]]:
    """Decided once per filter: a server is rebuilt whenever its record changes, and 10,000 servers on a
    handful of filters then hold a handful of name sets, not 10,000."""
    remembered = _REMEMBERED.setdefault(registry, OrderedDict())
    names = remembered.get(tool_filter)
    if names is None:
        allowed = tuple(name for name, tool in registry.tools.items() if tool_filter.allows(tool))
        names = remembered[tool_filter] = (allowed, frozenset(allowed))
        if len(remembered) > REMEMBERED_FILTERS:
            remembered.popitem(last=False)
    else:
        remembered.move_to_end(tool_filter)
    return names


def refusal_message(tool_filter: ToolFilter, tool: ToolEntry) -> str:
    """Why a server refuses `tool`, in words an agent can pass on: what is true, and who can change it.

    Says which filter leaves the tool out (read-only, another kind, other functional areas), never the
    server's configuration itself.
    """
    kinds = tool_filter.kinds
    if tool.kind not in kinds:
        if tool.kind in METHOD_GROUPS["write"] and kinds <= frozenset(METHOD_GROUPS["read"]):
            why, ask = "it is read-only", "a write-enabled MCP URL"
        else:
            why, ask = f"it does not allow {tool.kind} tools", "an MCP URL whose server allows them"
    else:
        why, ask = "it is limited to other functional areas", "an MCP URL whose server includes this tool"
    return f"This MCP server does not allow {tool.name}: {why}. Nothing was sent to Stripe; ask an admin for {ask}."
