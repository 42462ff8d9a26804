"""What a Stripe route says: the kind of operation, its resource words, its action and its own id.

The naming half of the Stripe conventions (stripe_mcp.codegen.stripe): pure functions of the routes
and the shapes of their responses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from stripe_mcp.codegen.model import Operation


def singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def is_placeholder(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def normalized(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def segments(path: str) -> list[str]:
    """The parts of a route after its version prefix: /v1/customers/{customer} -> customers, {customer}."""
    parts = [p for p in path.split("/") if p]
    return parts[1:] if parts and re.fullmatch(r"v\d+", parts[0]) else parts


@dataclass(frozen=True)
class RouteShape:
    """What an operation's path says: its kind, the resource words and the action verb."""

    kind: str
    nouns: tuple[str, ...]
    action: str | None
    own_id: str | None  # the placeholder that is the operation's own object


class RouteIndex:
    """Which operations exist at which (normalized) paths: the context the naming rules need."""

    def __init__(self, operations: Iterable[Operation]) -> None:
        self.by_path: dict[tuple[str, str], Operation] = {}
        for op in operations:
            self.by_path[(op.method, normalized(op.path))] = op
        self.paths = {path for _, path in self.by_path}

    def get(self, path: str) -> Operation | None:
        return self.by_path.get(("GET", normalized(path)))

    def is_collection(self, prefix: str) -> bool:
        """A path prefix names a collection (or a singleton object) when the API has operations at it."""
        prefix = normalized(prefix)
        return prefix in self.paths or any(p.startswith(prefix + "/{}") for p in self.paths)


def nouns(parts: list[str], index: RouteIndex, root: str, last_form: str) -> tuple[str, ...]:
    """The resource words of a path: instances singular, namespaces as they are.

    last_form says what to do with the final literal: "plural" (lists), "singular" (one new or
    acted-on object) or "as_is" (a singleton such as /v1/balance or /v1/tax/settings).
    """
    words: list[str] = []
    literals = [i for i, s in enumerate(parts) if not is_placeholder(s)]
    for i in literals:
        word = parts[i]
        followed_by_id = i + 1 < len(parts) and is_placeholder(parts[i + 1])
        if i == literals[-1] and not followed_by_id:
            words.append({"plural": word, "singular": singular(word), "as_is": word}[last_form])
        elif followed_by_id or index.is_collection(root + "/".join(parts[: i + 1])):
            words.append(singular(word))
        else:
            words.append(word)
    return tuple(words)


def route_shape(op: Operation, index: RouteIndex) -> RouteShape:
    parts = segments(op.path)
    root = op.path[: op.path.index(parts[0])] if parts else op.path
    ends_with_id = bool(parts) and is_placeholder(parts[-1])
    last_id = parts[-1][1:-1] if ends_with_id else None
    if op.method == "GET":
        if parts and parts[-1] == "search" and op.response.shape == "search_result":
            return RouteShape("search", nouns(parts[:-1], index, root, "plural"), None, None)
        if op.response.shape in ("list", "search_result"):
            return RouteShape("list", nouns(parts, index, root, "plural"), None, None)
        return RouteShape("get", nouns(parts, index, root, "as_is"), None, last_id)
    if op.method == "DELETE":
        return RouteShape("delete", nouns(parts, index, root, "as_is"), None, last_id)
    if ends_with_id:
        return RouteShape("update", nouns(parts, index, root, "as_is"), None, last_id)
    same_path_get = index.get(op.path)
    if same_path_get is not None:
        if same_path_get.response.shape == "list":
            return RouteShape("create", nouns(parts, index, root, "singular"), None, None)
        return RouteShape("update", nouns(parts, index, root, "as_is"), None, None)
    if is_action(op, parts, index):
        target = parts[:-1]
        own = target[-1][1:-1] if target and is_placeholder(target[-1]) else None
        return RouteShape("custom", nouns(target, index, root, "singular"), parts[-1], own)
    return RouteShape("create", nouns(parts, index, root, "singular"), None, None)


def is_action(op: Operation, parts: list[str], index: RouteIndex) -> bool:
    """POST /charges/{charge}/capture acts on the charge; POST /accounts/{account}/login_links creates a login link.

    An action returns the object it acts on; a create returns a new kind of object. Without a
    retrieve operation to compare with, a plural last word means a create, any other an action.
    """
    if len(parts) < 2:
        return False
    parent = index.get(op.path.rsplit("/", 1)[0])
    if parent is not None and parent.response.resource_ids:
        return bool(set(parent.response.resource_ids) & set(op.response.resource_ids))
    return not parts[-1].endswith("s")


def tool_name(kind: str, resource: str, action: str | None, with_id_suffix: bool = True) -> str:
    suffix = "_by_id" if with_id_suffix else ""
    return {
        "list": f"list_all_stripe_{resource}",
        "search": f"search_stripe_{resource}",
        "get": f"get_single_stripe_{resource}{suffix}",
        "create": f"create_a_stripe_{resource}",
        "update": f"update_a_stripe_{resource}{suffix}",
        "delete": f"delete_a_stripe_{resource}{suffix}",
        "custom": f"{action}_a_stripe_{resource}",
    }[kind]
