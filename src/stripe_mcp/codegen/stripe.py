"""Stripe's conventions: how an operation becomes a tool.

The only module that knows Stripe's naming, pagination, expansion and id rules. It reads the
intermediate model (stripe_mcp.codegen.model) and our override tables (specs/overrides.yaml), and returns
Tool objects that the templates render with no further logic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stripe_mcp.codegen.descriptions import Descriptions
from stripe_mcp.codegen.model import Api, FieldNode, Operation, Parameter
from stripe_mcp.codegen.routes import RouteIndex, RouteShape, route_shape, segments, singular, tool_name
from stripe_mcp.codegen.schemas import Schema
from stripe_mcp.codegen.text import clean_text
from stripe_mcp.codegen.tool import Argument, Tool

TOOL_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
OVERRIDES = Path(__file__).resolve().parent / "overrides.yaml"
PAGINATION_PARAMETERS = {"cursor": ("starting_after", "ending_before"), "search": ("page",)}
NESTED_DESCRIPTION_LIMIT = 200

NEXT_CURSOR = {
    "type": "string",
    "maxLength": 5000,
    "description": "Where the next page starts: pass the next_cursor of the previous result back unchanged. Omit for the first page.",
}
LIMIT = {
    "type": "integer",
    "minimum": 1,
    "maximum": 100,
    "description": "How many objects one page holds, 1 to 100 (default 10).",
}
FIELDS = {
    "type": "array",
    "items": {"type": "string", "minLength": 1, "maxLength": 200},
    "maxItems": 50,
    "description": 'Keep only these dotted paths of each object, e.g. ["id", "email", "metadata.segment"]. '
    "A path inside an expandable field also needs that field in expand.",
}
IDEMPOTENCY_KEY = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "description": "Stripe idempotency key. Retrying with the same key never applies the request twice; a random key is used when omitted.",
}
SEARCH_QUERY_HELP = (
    " The query uses Stripe's search query language: field:value clauses joined by AND or OR, "
    "e.g. email:'jane@example.com' AND metadata['order_id']:'6735'; ~ matches substrings, > and < compare numbers and dates."
)


class ConventionError(Exception):
    """The spec breaks a naming or argument rule that needs an override."""


@dataclass
class Overrides:
    tool_names: dict[str, str] = field(default_factory=dict)
    destructive_action_words: frozenset[str] = frozenset()
    destructive_creates: frozenset[str] = frozenset()
    areas_by_path: dict[str, str] = field(default_factory=dict)
    areas_by_resource: dict[str, str] = field(default_factory=dict)
    areas_across_resources: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = OVERRIDES) -> Overrides:
        raw = yaml.safe_load(path.read_text()) or {}
        return cls(
            tool_names=dict(raw.get("tool_names") or {}),
            destructive_action_words=frozenset(raw.get("destructive_action_words") or ()),
            destructive_creates=frozenset(raw.get("destructive_creates") or ()),
            areas_by_path=dict(raw.get("areas_by_path") or {}),
            areas_by_resource=dict(raw.get("areas_by_resource") or {}),
            areas_across_resources={
                area: frozenset(resources) for area, resources in (raw.get("areas_across_resources") or {}).items()
            },
        )


class StripeConventions:
    def __init__(self, api: Api, overrides: Overrides | None = None, words: Descriptions | None = None) -> None:
        self.api = api
        self.overrides = overrides or Overrides.load()
        self.words = words or Descriptions.load()
        self.index = RouteIndex(api.operations)
        self.shapes = {op.operation_id: route_shape(op, self.index) for op in api.operations}
        self.names = self._names()
        self.list_tool_for_noun = self._list_tools_by_noun()

    # Names --------------------------------------------------------------------------------------

    def _names(self) -> dict[str, str]:
        candidates: dict[str, list[Operation]] = {}
        for op in self.api.operations:
            shape = self.shapes[op.operation_id]
            candidates.setdefault(tool_name(shape.kind, "_".join(shape.nouns), shape.action), []).append(op)
        names: dict[str, str] = {}
        for name, ops in candidates.items():
            for op in ops:
                names[op.operation_id] = name
            if len(ops) > 1:
                # /v1/account/... and /v1/accounts/{account}/...: the route with fewer ids in its path acts
                # on the caller's own object, so its resource reads "own_<resource>".
                fewest = min(op.path.count("{") for op in ops)
                for op in ops:
                    if op.path.count("{") == fewest and fewest < max(o.path.count("{") for o in ops):
                        shape = self.shapes[op.operation_id]
                        names[op.operation_id] = tool_name(shape.kind, "own_" + "_".join(shape.nouns), shape.action)
        for op in self.api.operations:
            override = self.overrides.tool_names.get(f"{op.method} {op.path}")
            if override:
                names[op.operation_id] = override
        self._check_names(names)
        return names

    def _check_names(self, names: dict[str, str]) -> None:
        by_name: dict[str, list[str]] = {}
        for op in self.api.operations:
            by_name.setdefault(names[op.operation_id], []).append(f"{op.method} {op.path}")
        problems = [f"{n} is made for {' and '.join(ops)}" for n, ops in by_name.items() if len(ops) > 1]
        problems += [
            f"{n} ({ops[0]}) is not ^[a-z0-9_]{{1,64}}$" for n, ops in by_name.items() if not TOOL_NAME.match(n)
        ]
        if problems:
            raise ConventionError(
                "tool names need an override in specs/overrides.yaml (tool_names): " + "; ".join(sorted(problems))
            )

    def _list_tools_by_noun(self) -> dict[str, str]:
        """ "charge" -> list_all_stripe_charges: the top-level list that yields ids of each kind of object.

        Only /v1/<collection> lists count: a namespaced or nested list (issuing cards, a customer's
        cards) is no answer for a bare `card` argument.
        """
        return {
            singular(segments(op.path)[0]): self.names[op.operation_id]
            for op in self.api.operations
            if self.shapes[op.operation_id].kind == "list" and len(segments(op.path)) == 1
        }

    def _yielding_tool(self, op: Operation, argument: Argument, name: str) -> str | None:
        """The tool whose results hold this argument's id, or None when the argument takes no id."""
        if argument.location == "path":
            # The list at the collection that the id indexes: /v1/customers/{customer}/cards/{id} -> customer cards.
            collection = op.path[: op.path.index("{" + argument.wire_name + "}")].rstrip("/")
            listing = self.index.get(collection)
            tool = self.names[listing.operation_id] if listing and listing.response.shape == "list" else None
        elif _accepts_string(argument.schema):
            tool = self.list_tool_for_noun.get(argument.wire_name)
        else:
            tool = None
        return tool if tool != name else None

    # Tools --------------------------------------------------------------------------------------

    def tools(self) -> list[Tool]:
        return sorted((self.tool(op) for op in self.api.operations), key=lambda t: t.name)

    def tool(self, op: Operation) -> Tool:
        shape = self.shapes[op.operation_id]
        name = self.names[op.operation_id]
        pagination = self._pagination(op, shape)
        arguments = self._arguments(op, shape, pagination, name)
        resource_words = " ".join(shape.nouns).replace("_", " ")
        return Tool(
            name=name,
            title=self._title(shape, resource_words),
            description=self._description(op, shape, resource_words, arguments, name),
            kind=shape.kind,
            method=op.method,
            path=op.path,
            server_url=op.server_url,
            body_encoding=op.body_encoding,
            pagination=pagination,
            resource="_".join(shape.nouns),
            areas=self._areas(op),
            tags=self._tags(op),
            annotations=self._annotations(op, shape),
            arguments=arguments,
            operation_id=op.operation_id,
            fields=self._result_fields(op, shape),
            object_description=clean_text(op.response.object_description),
            deprecated=self.words.is_deprecated(name, op.deprecated),
            successor=self.words.successor(name),
        )

    def _result_fields(self, op: Operation, shape: RouteShape) -> FieldNode | None:
        """What `fields` may name: the fields of the object a read tool returns, when it is an object."""
        if shape.kind not in ("get", "list", "search") or op.response.shape == "binary":
            return None
        return op.response.fields if _names_fields(op.response.fields) else None

    def _pagination(self, op: Operation, shape: RouteShape) -> str | None:
        names = {p.name for p in op.parameters}
        if shape.kind == "search":
            return "search"
        if shape.kind == "list":
            return "cursor" if "starting_after" in names else "local"
        return None

    def _arguments(self, op: Operation, shape: RouteShape, pagination: str | None, name: str) -> tuple[Argument, ...]:
        hidden = set(PAGINATION_PARAMETERS.get(pagination or "", ()))
        arguments: list[Argument] = []
        for parameter in op.parameters_in("path"):
            arg_name = "id" if parameter.name == shape.own_id else self._parent_argument(op.path, parameter.name)
            id_schema = client_schema(parameter.schema, top_level=True)
            argument = Argument(arg_name, "path", parameter.name, True, id_schema)
            id_schema["description"] = self._id_description(op, argument, name)
            arguments.append(argument)
        for parameter in op.parameters_in("query") + op.parameters_in("body"):
            if parameter.name in hidden:
                continue
            schema = self._argument_schema(op, shape, parameter, name)
            if schema is None:
                continue
            arguments.append(Argument(parameter.name, parameter.location, parameter.name, parameter.required, schema))
        if self._result_fields(op, shape) is not None:
            arguments.append(Argument("fields", "control", "fields", False, dict(FIELDS)))
        if pagination:
            if not any(a.name == "limit" for a in arguments):
                arguments.append(Argument("limit", "control", "limit", False, dict(LIMIT)))
            arguments.append(Argument("next_cursor", "control", "next_cursor", False, dict(NEXT_CURSOR)))
        if op.method == "POST":
            arguments.append(Argument("idempotency_key", "control", "idempotency_key", False, dict(IDEMPOTENCY_KEY)))
        seen: set[str] = set()
        for argument in arguments:
            if argument.name in seen:
                raise ConventionError(f"{op.method} {op.path}: two arguments are named {argument.name!r}")
            seen.add(argument.name)
        return tuple(arguments)

    def _parent_argument(self, path: str, placeholder: str) -> str:
        parts = segments(path)
        position = parts.index("{" + placeholder + "}")
        collection = parts[position - 1] if position > 0 else placeholder
        return f"{singular(collection)}_id"

    def _argument_schema(self, op: Operation, shape: RouteShape, parameter: Parameter, name: str) -> Schema | None:
        if parameter.name == "expand":
            return self._expand_schema(op, shape)
        if parameter.name == "limit" and shape.kind in ("list", "search"):
            return dict(LIMIT)
        schema = client_schema(parameter.schema, top_level=True)
        if schema.get("format") == "binary":
            # MCP arguments are JSON, so file content travels as base64 text.
            schema = {"type": "string", "contentEncoding": "base64"}
            description = "The file's content, base64-encoded."
        else:
            spec_text = parameter.description or schema.pop("description", "")
            schema.pop("description", None)
            description = self.words.argument_description(
                name, parameter.name, spec_text, schema, op.response.field_descriptions
            )
            hint = self._yields_hint(
                op, Argument(parameter.name, parameter.location, parameter.name, parameter.required, schema), name
            )
            if hint:
                description = f"{description} {hint}".strip()
        if parameter.name == "query" and shape.kind == "search" and " AND or OR" not in description:
            description = (description + SEARCH_QUERY_HELP).strip()
        if description:
            schema = {"description": description, **schema}
        return schema

    def _expand_schema(self, op: Operation, shape: RouteShape) -> Schema | None:
        fields = op.response.expandable_fields
        if not fields:
            return None
        prefix = "data." if shape.kind in ("list", "search") else ""
        return {
            "description": "Related objects to include in full instead of as ids.",
            "type": "array",
            "items": {"type": "string", "enum": [prefix + f for f in fields]},
        }

    def _id_description(self, op: Operation, argument: Argument, name: str) -> str:
        parts = segments(op.path)
        noun = singular(parts[parts.index("{" + argument.wire_name + "}") - 1])
        text = f"The id of the {noun.replace('_', ' ')}."
        tool = self._yielding_tool(op, argument, name)
        return f"{text} Find one with {tool}." if tool else text

    def _yields_hint(self, op: Operation, argument: Argument, name: str) -> str:
        tool = self._yielding_tool(op, argument, name)
        if not tool:
            return ""
        words = argument.wire_name.replace("_", " ")
        return f"Takes {'an' if words[:1] in 'aeiou' else 'a'} {words} id: find one with {tool}."

    # Words ----------------------------------------------------------------------------------------

    def _title(self, shape: RouteShape, resource_words: str) -> str:
        words = resource_words
        action = (shape.action or "").replace("_", " ")
        return {
            "list": f"List {words}",
            "search": f"Search {words}",
            "get": f"Retrieve {words}",
            "create": f"Create {words}",
            "update": f"Update {words}",
            "delete": f"Delete {words}",
            "custom": f"{action.capitalize()} {words}",
        }[shape.kind]

    def _description(
        self, op: Operation, shape: RouteShape, words: str, arguments: tuple[Argument, ...], name: str
    ) -> str:
        article = "a"  # "a Stripe ..." whatever the resource
        identified = "by its id" if shape.own_id else ""
        lead = {
            "list": f"List Stripe {words}, one page at a time.",
            "search": f"Search Stripe {words} with Stripe's query language, by fields or metadata (metadata['order_id']:'6735').",
            "get": f"Retrieve {'a' if shape.own_id else 'the'} Stripe {words} {identified}".rstrip() + ".",
            "create": f"Create {article} Stripe {words}.",
            "update": f"Update {'a' if shape.own_id else 'the'} Stripe {words} {identified}".rstrip() + ".",
            "delete": f"Delete {'a' if shape.own_id else 'the'} Stripe {words} {identified}".rstrip() + ".",
            "custom": _action_phrase(shape.action or "", f"{article} Stripe {words}") + ".",
        }[shape.kind]
        needs = [
            f"{a.name} from {tool}"
            for a in arguments
            if (a.required or a.location == "path") and a.name != "id" and (tool := self._yielding_tool(op, a, name))
        ]
        body = _without_echo(clean_text(op.description), lead)
        return self.words.tool_description(
            name,
            shape.kind,
            lead,
            body,
            f"Needs {', '.join(needs)}." if needs else "",
            deprecated=self.words.is_deprecated(name, op.deprecated),
        )

    def _areas(self, op: Operation) -> tuple[str, ...]:
        """The tool's functional areas, its main one first (see overrides.yaml)."""
        parts = segments(op.path)
        path_area = self.overrides.areas_by_path.get(parts[0], parts[0]) if parts else "other"
        if parts and parts[0] == "test_helpers":
            return (path_area,)
        resource = self._resource_tag(op)
        areas = [self.overrides.areas_by_resource.get(resource, path_area), path_area]
        areas += [area for area, members in self.overrides.areas_across_resources.items() if resource in members]
        return tuple(dict.fromkeys(areas))

    def _resource_tag(self, op: Operation) -> str:
        resource = op.response.resource_ids[0] if op.response.resource_ids else ""
        return resource.removeprefix("deleted_")

    def _tags(self, op: Operation) -> tuple[str, ...]:
        """Its areas, then the resource it returns: a server's tags filter matches either."""
        return tuple(t for t in (*self._areas(op), self._resource_tag(op)) if t)

    def _annotations(self, op: Operation, shape: RouteShape) -> dict[str, Any]:
        read_only = op.method == "GET"
        if shape.kind == "delete":
            destructive = True
        elif shape.kind == "custom":
            destructive = bool(set((shape.action or "").split("_")) & self.overrides.destructive_action_words)
        elif shape.kind == "create":
            destructive = shape.nouns[-1].split("_")[-1] in self.overrides.destructive_creates
        else:
            destructive = False
        return {
            "title": self._title(shape, " ".join(shape.nouns).replace("_", " ")),
            "readOnlyHint": read_only,
            "destructiveHint": destructive and not read_only,
            "idempotentHint": read_only or shape.kind in ("update", "delete"),
            "openWorldHint": True,
        }


def client_schema(schema: Schema, top_level: bool = False) -> Schema:
    """What every MCP client accepts: no nested additionalProperties flags, plain text.

    Titles stay for now: they name the argument models, and Tool.input_schema drops them.
    """
    result: Schema = {}
    for key, value in schema.items():
        if key == "description":
            if not top_level:
                text = clean_text(value, NESTED_DESCRIPTION_LIMIT)
                if text:
                    result[key] = text
            else:
                result[key] = value
        elif key == "additionalProperties":
            if isinstance(value, dict):
                result[key] = client_schema(value)
        elif key == "properties":
            result[key] = {n: client_schema(s) for n, s in value.items()}
        elif key in ("items", "not"):
            result[key] = client_schema(value)
        elif key in ("anyOf", "oneOf", "allOf"):
            result[key] = [client_schema(s) for s in value]
        else:
            result[key] = value
    return result


def _action_phrase(action: str, target: str) -> str:
    """capture -> "Capture a Stripe charge"; verify_microdeposits -> "Verify microdeposits on a Stripe ..."."""
    words = action.replace("_", " ").capitalize()
    return f"{words} {target}" if "_" not in action else f"{words} on {target}"


def _without_echo(text: str, lead: str) -> str:
    """Drop Stripe's first sentence when it only repeats our lead ("Create a refund.")."""
    first, _, rest = text.partition(". ")
    noise = {"a", "an", "the", "stripe", "your", "of", "existing"}
    words = set(re.findall(r"[a-z]+", first.lower())) - noise
    lead_words = {w.rstrip("s") for w in re.findall(r"[a-z]+", lead.lower())}
    if words and {w.rstrip("s") for w in words} <= lead_words | {"retrieve", "create", "update", "delete", "list"}:
        return rest
    return text


def _accepts_string(schema: Schema) -> bool:
    if schema.get("type") == "string":
        return True
    return any(_accepts_string(s) for s in schema.get("anyOf", []))


def _names_fields(node: FieldNode | None) -> bool:
    """An object (named or inline) or a choice of objects, rather than a bare value."""
    if isinstance(node, str):
        return node.startswith("@")
    if isinstance(node, list):
        return any(_names_fields(n) for n in node)
    return isinstance(node, dict) and "[]" not in node


def build_tools(api: Api, overrides: Overrides | None = None, words: Descriptions | None = None) -> list[Tool]:
    return StripeConventions(api, overrides, words).tools()
