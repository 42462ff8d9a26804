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
