"""A tool as the Stripe conventions make it and the templates render it, with no logic left to apply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stripe_mcp.codegen.model import FieldNode
from stripe_mcp.codegen.schemas import Schema, without_keywords

SERVED_WITHOUT = frozenset({"title"})
"""Titles name the argument models; served schemas carry none (some MCP clients choke on them)."""
MODELS_WITHOUT = frozenset({"description"})
"""Descriptions stay in the served schema; the models only validate, and lighter models load faster."""


@dataclass(frozen=True)
class Argument:
    name: str
    location: str  # "path", "query", "body" or "control" (used by the runtime, never sent as is)
    wire_name: str
    required: bool
    schema: Schema
    """Client-safe JSON Schema, except that object schemas keep their spec `title` (see Tool.input_schema)."""


@dataclass(frozen=True)
class Tool:
    name: str
    title: str
    description: str
    kind: str
    method: str
    path: str
    server_url: str | None
    body_encoding: str | None
    pagination: str | None
    resource: str
    areas: tuple[str, ...]  # functional areas, the main one first
    tags: tuple[str, ...]  # the areas, then the resource returned
    annotations: dict[str, Any]
    arguments: tuple[Argument, ...]
    operation_id: str
    fields: FieldNode | None = None
    """The fields of the object returned (each item's, for list and search tools): what `fields` may name."""
    object_description: str = ""
    """What the returned object is, in the spec's words (for the discovery index)."""
    deprecated: bool = False
    """A successor does the same (descriptions.yaml, or the spec's `deprecated`): ranked below it."""
    successor: str = ""
    """The tool that replaces a deprecated one, when descriptions.yaml names it."""

    @property
    def input_schema(self) -> Schema:
        """The JSON Schema of the arguments that MCP clients are served."""
        return without_keywords(self._schema(), SERVED_WITHOUT)

    @property
    def model_schema(self) -> Schema:
        """The same arguments for the pydantic models: titles kept, descriptions dropped."""
        return without_keywords(self._schema(), MODELS_WITHOUT)

    def _schema(self) -> Schema:
        properties = {a.name: a.schema for a in self.arguments}
        schema: Schema = {"type": "object", "properties": properties}
        required = [a.name for a in self.arguments if a.required]
        if required:
            schema["required"] = required
        schema["additionalProperties"] = False
        return schema

    def arguments_in(self, location: str) -> tuple[str, ...]:
        return tuple(a.name for a in self.arguments if a.location == location)

    @property
    def path_arguments(self) -> dict[str, str]:
        """Tool argument name -> the placeholder it fills in the path."""
        return {a.name: a.wire_name for a in self.arguments if a.location == "path"}
