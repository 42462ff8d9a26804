"""The nested objects of all tools' arguments, each distinct shape defined once under a stable name.

A shape is a nested object schema as the models see it (titles kept, descriptions dropped), nested
shapes included. Stripe gives every nested object a `title` (`address`, `payment_method_options_param`);
an object without one is titled by the field that holds it. A title with one shape names it in
PascalCase (`Address`). A title with several shapes gets, for each, the shortest qualifier that
tells its places apart from every other shape's (see QUALIFIERS): `param` at `au_becs_debit` is
`AuBecsDebitParam`. Names depend only on the set of shapes and where they occur, never on the
order of tools, so a spec update renames only the shapes it changes or newly confuses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from stripe_mcp.codegen.routes import singular
from stripe_mcp.codegen.schemas import SUBSCHEMA_KEYWORDS, SUBSCHEMA_LIST_KEYWORDS, Schema, children, mapped
from stripe_mcp.codegen.tool import Tool

REF_PREFIX = "#/$defs/"
RESERVED_NAMES = frozenset(
    {"Annotated", "Any", "Arguments", "AwareDatetime", "BaseModel", "ConfigDict", "Field", "Literal", "RootModel"}
)
"""Names the generated modules already use: a shape never takes one."""


@dataclass(frozen=True)
class Place:
    """Where a shape occurs: the tool, and the way from the tool's argument down to it."""

    tool: str
    tool_title: str
    resource: str
    fields: tuple[str, ...]
    """The property names from the argument down (array items and anyOf branches add none)."""
    owners: tuple[str, ...] = ()
    """The titles of the objects whose properties lead down to the shape, the nearest last."""
    branches: tuple[str, ...] = ()
    """`fields` with the anyOf/oneOf branch numbers interleaved: two branches can hold one field."""

    def inside(self, field: str, owner: str) -> Place:
        fields, owners, branches = (*self.fields, field), (*self.owners, owner), (*self.branches, field)
        return Place(self.tool, self.tool_title, self.resource, fields, owners, branches)

    def branch(self, number: int) -> Place:
        branches = (*self.branches, str(number))
        return Place(self.tool, self.tool_title, self.resource, self.fields, self.owners, branches)


Qualifier = Callable[[Place], tuple[str, ...]]

QUALIFIERS: tuple[Qualifier, ...] = (
    lambda p: p.fields[-1:],
    lambda p: p.fields[-2:],
    lambda p: (p.resource, *p.fields[-1:]),
    lambda p: (p.resource, *p.fields[-2:]),
    lambda p: (*p.owners[-1:], *p.fields[-1:]),
    lambda p: (*p.owners[-2:-1], *p.fields[-1:]),
    lambda p: (p.resource, *p.fields),
    lambda p: (p.tool_title, *p.fields),
    lambda p: (p.tool, *p.branches),  # unique: one place holds one shape
)
"""From the leaf field up to the whole way: the first that sets a shape's places apart is used."""


@dataclass(frozen=True)
class SharedModels:
    definitions: dict[str, Schema]
    """Class name -> object schema whose nested objects are `{"$ref": "#/$defs/<name>"}`; sorted by name."""
    arguments: dict[str, Schema]
    """Tool name -> its arguments schema, nested objects as references."""
    references: dict[str, tuple[str, ...]]
    """Class or tool name -> the classes its schema refers to directly, sorted."""
    titles: dict[str, str]
    """Class name -> the spec title it is named from ("" for an untitled object, named by its field)."""
    shapes: dict[str, Schema]
    """Class name -> the nested object schema it was made from (titles kept, descriptions dropped)."""


def share_models(tools: Iterable[Tool]) -> SharedModels:
    collector = _Collector()
    schemas = {tool.name: (tool, tool.model_schema) for tool in tools}
    for tool, schema in schemas.values():
        for name, sub in schema["properties"].items():
            collector.visit(sub, Place(tool.name, tool.title, tool.resource, (name,), (), (name,)))
    names = shape_names(collector.places, collector.titles)
    definitions = {names[key]: _referring(schema, names, top=True) for key, schema in collector.schemas.items()}
    arguments = {name: _referring(schema, names, top=True) for name, (_, schema) in schemas.items()}
    references = {name: tuple(sorted(_references(schema))) for name, schema in {**definitions, **arguments}.items()}
    titles = {names[key]: str(schema.get("title") or "") for key, schema in collector.schemas.items()}
    shapes = {names[key]: schema for key, schema in collector.schemas.items()}
    return SharedModels(dict(sorted(definitions.items())), arguments, references, titles, shapes)


class _Collector:
    """Every nested object schema by shape (its canonical JSON), with its title and places."""

    def __init__(self) -> None:
        self.places: dict[str, list[Place]] = {}
        self.titles: dict[str, str] = {}
        self.schemas: dict[str, Schema] = {}

    def visit(self, schema: Schema, place: Place) -> None:
        if "properties" in schema:
            key = shape_key(schema)
            title = str(schema.get("title") or place.fields[-1])
            self.places.setdefault(key, []).append(place)
            self.titles[key] = title
            self.schemas[key] = schema
            for name, sub in schema["properties"].items():
                self.visit(sub, place.inside(name, title))
        for key in SUBSCHEMA_KEYWORDS:
            if isinstance(schema.get(key), dict):
                self.visit(schema[key], place)
        for key in SUBSCHEMA_LIST_KEYWORDS:
            for number, sub in enumerate(schema.get(key) or ()):
                self.visit(sub, place.branch(number))


def shape_key(schema: Schema) -> str:
    """Equal for equal shapes: keywords in any order, properties in theirs (it is the order of the fields)."""
    return json.dumps(_ordered_properties(schema), sort_keys=True, ensure_ascii=False)


def _ordered_properties(schema: Schema) -> Schema:
    result = mapped(schema, _ordered_properties)
    if "properties" in result:
        result["properties"] = [[name, sub] for name, sub in result["properties"].items()]
    return result


def shape_names(places: dict[str, list[Place]], titles: dict[str, str]) -> dict[str, str]:
    """Shape key -> class name, unique, from titles and, where a title has several shapes, places."""
    groups: dict[str, list[str]] = {}
    for key in sorted(places):
        groups.setdefault(pascal(words(titles[key])), []).append(key)
    names: dict[str, str] = {}
    taken = set(RESERVED_NAMES)
    for plain, keys in sorted(groups.items()):
        if len(keys) == 1 and plain not in taken:
            names[keys[0]] = plain
            taken.add(plain)
    for _, keys in sorted(groups.items()):
        for key in keys:
            if key not in names:
                names[key] = _qualified_name(key, keys, places, words(titles[key]), taken)
                taken.add(names[key])
    return names


def _qualified_name(
    key: str, group: list[str], places: dict[str, list[Place]], title: list[str], taken: set[str]
) -> str:
    for qualifier in QUALIFIERS:
        own = {qualifier(p) for p in places[key]}
        others = {qualifier(p) for other in group if other != key for p in places[other]}
        if own & others:
            continue
        name = pascal(_without_overlap([w for part in min(own) for w in words(part)], title) + title)
        if name not in taken:
            return name
    raise AssertionError(f"no unique name for the shape titled {'_'.join(title)!r} at {places[key][0]}")


def _without_overlap(qualifier: list[str], title: list[str]) -> list[str]:
    """`payment_intent payment_method_options` before `payment_method_options_param`: the field repeats the title."""
    for size in range(min(len(qualifier), len(title)), 0, -1):
        if [singular(w) for w in qualifier[-size:]] == [singular(w) for w in title[:size]]:
            return qualifier[:-size]
    return qualifier


def words(text: str) -> list[str]:
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", text) if w]


def pascal(parts: list[str]) -> str:
    name = "".join(w[:1].upper() + w[1:] for w in parts) or "Model"
    return name if name[0].isalpha() else "Model" + name


def _referring(schema: Schema, names: dict[str, str], top: bool = False) -> Schema:
    """`schema` without titles, each nested object (not `schema` itself at the top) a reference."""
    if not top and "properties" in schema:
        return {"$ref": REF_PREFIX + names[shape_key(schema)]}
    return mapped(schema, lambda sub: _referring(sub, names), drop=("title",))


def _references(schema: Schema) -> set[str]:
    found: set[str] = set()
    for _, sub in children(schema):
        ref = sub.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            found.add(ref.removeprefix(REF_PREFIX))
        else:
            found |= _references(sub)
    return found
