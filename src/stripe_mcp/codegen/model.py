"""The intermediate model: every operation of an API, with no OpenAPI left in it.

The loader builds it from a spec; the Stripe conventions turn it into tools; templates render the tools.
Schemas here are plain JSON Schema 2020-12 dictionaries with every `$ref` already inlined.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Location = Literal["path", "query", "body"]
ResponseShape = Literal["object", "list", "search_result", "binary"]
BodyEncoding = Literal["form", "multipart"]
FieldNode = str | dict[str, "FieldNode"] | list["FieldNode"]
"""The fields of a returned object, compactly (generated/fields.json holds these as they are):

- a leaf type: "s" string, "i" integer, "n" number, "b" boolean, "t" unix time (integer seconds), "?" anything;
- "@name": the object `name` of `Api.objects`;
- {"field": node, ...}: an object and its fields; {"*": node}: a map whose keys are free (metadata);
- {"[]": node}: an array of nodes; {"~": [node, ...]}: an id that `expand` turns into one of these objects;
- [node, ...]: one of several shapes.
"""


@dataclass(frozen=True)
class Parameter:
    name: str
    location: Location
    required: bool
    schema: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class Response:
    shape: ResponseShape
    resource_ids: tuple[str, ...] = ()
    """The `x-resourceId` of the object returned, or of the items of a list."""
    expandable_fields: tuple[str, ...] = ()
    """The fields of that object (or of the list's items) that the API can expand."""
    content_type: str = "application/json"
    fields: FieldNode | None = None
    """The fields of the object returned (of each item, for a list or search), or None when it has none."""
    object_description: str = ""
    """What the spec says that object is ("This object represents a customer of your business...")."""
    field_descriptions: dict[str, str] = field(default_factory=dict)
    """The spec's description of each top-level field of that object."""


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    description: str
    parameters: tuple[Parameter, ...]
    response: Response
    body_encoding: BodyEncoding | None = None
    server_url: str | None = None
    deprecated: bool = False

    def parameters_in(self, location: Location) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.location == location)


@dataclass(frozen=True)
class Api:
    title: str
    version: str
    source_sha256: str
    operations: tuple[Operation, ...] = field(default_factory=tuple)
    objects: dict[str, FieldNode] = field(default_factory=dict)
    """The named objects that responses' `fields` refer to ("@charge"), each with its fields."""
