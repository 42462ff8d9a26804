"""Read an OpenAPI 3 document into the intermediate model. The only module that knows OpenAPI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from stripe_mcp.codegen.model import Api, BodyEncoding, FieldNode, Location, Operation, Parameter, Response

HTTP_METHODS = ("get", "post", "delete", "put", "patch")
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
# OpenAPI 3.0 keywords with no JSON Schema 2020-12 meaning for a tool's arguments.
OPENAPI_ONLY_KEYWORDS = {"nullable", "discriminator", "xml", "externalDocs", "example", "deprecated"}
MAX_INLINE_DEPTH = 24
COMPONENT_PREFIX = "#/components/schemas/"
LEAF_TYPES = {"string": "s", "integer": "i", "number": "n", "boolean": "b"}


class SpecError(Exception):
    """A spec that cannot be read: says which file and where."""

    def __init__(self, path: Path | str, place: str, message: str) -> None:
        self.path = str(path)
        self.place = place
        self.message = message
        super().__init__(f"{self.path}: {place}: {message}" if place else f"{self.path}: {message}")


def read_document(path: Path) -> tuple[dict[str, Any], str]:
    """The parsed document and the sha256 of its bytes."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(path, "", "no such file") from None
    except IsADirectoryError:
        raise SpecError(path, "", "is a directory, not a spec file") from None
    except OSError as exc:
        raise SpecError(path, "", f"cannot be read ({exc.strerror})") from None
    digest = hashlib.sha256(raw).hexdigest()
    try:
        if raw.lstrip()[:1] in (b"{", b"["):
            document = json.loads(raw)
        else:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            document = yaml.load(raw, Loader=loader)
    except json.JSONDecodeError as exc:
        raise SpecError(path, f"line {exc.lineno} column {exc.colno}", f"not valid JSON ({exc.msg})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f"line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise SpecError(path, place, f"not valid JSON or YAML ({problem})") from None
    except UnicodeDecodeError:
        raise SpecError(path, "", "not valid UTF-8 text") from None
    return document, digest


def load_api(path: Path | str) -> Api:
    path = Path(path)
    document, digest = read_document(path)
    return _SpecReader(path, document).api(digest)


class _SpecReader:
    def __init__(self, path: Path, document: Any) -> None:
        self.path = path
        if not isinstance(document, dict):
            raise SpecError(path, "", "not an OpenAPI document (the top level is not an object)")
        version = document.get("openapi")
        if not isinstance(version, str) or not version.startswith("3."):
            found = f"'openapi: {version}'" if version is not None else "no 'openapi' field"
            raise SpecError(path, "openapi", f"not an OpenAPI 3 document ({found})")
        info = document.get("info")
        if not isinstance(info, dict) or not isinstance(info.get("version"), (str, int, float)):
            raise SpecError(path, "info.version", "missing: the API version is needed to pin generated files")
        if not isinstance(document.get("paths"), dict):
            raise SpecError(path, "paths", "missing or not an object")
        self.document = document
        self.referenced: set[str] = set()  # the components that some response's fields name

    def api(self, digest: str) -> Api:
        info = self.document["info"]
        operations = []
        for route, item in self.document["paths"].items():
            if not isinstance(item, dict):
                raise SpecError(self.path, f"paths.{route}", "not an object")
            shared = item.get("parameters", [])
            for method in HTTP_METHODS:
                if method in item:
                    place = f"paths.{route}.{method}"
                    operations.append(self._operation(route, method, item[method], shared, place))
        seen: dict[str, str] = {}
        for op in operations:
            where = f"{op.method} {op.path}"
            if op.operation_id in seen:
                raise SpecError(
                    self.path,
                    f"paths.{op.path}.{op.method.lower()}.operationId",
                    f"{op.operation_id!r} is also the operationId of {seen[op.operation_id]}",
                )
            seen[op.operation_id] = where
        return Api(
            title=str(info.get("title", "")),
            version=str(info["version"]),
            source_sha256=digest,
            operations=tuple(operations),
            objects=self._objects(),
        )

    def _operation(self, route: str, method: str, raw: Any, shared: list[Any], place: str) -> Operation:
        if not isinstance(raw, dict):
            raise SpecError(self.path, place, "not an object")
        own = raw.get("parameters", [])
        for where, value in ((f"paths.{route}.parameters", shared), (f"{place}.parameters", own)):
            if not isinstance(value, list):
                raise SpecError(self.path, where, "not a list")
        parameters = [self._parameter(p, f"{place}.parameters[{i}]") for i, p in enumerate(shared + own)]
        body_encoding, body_parameters = self._body(raw.get("requestBody"), f"{place}.requestBody")
        # A GET or DELETE sends its fields in the query string, whatever the spec calls them.
        body_location: Location = "body" if method in ("post", "put", "patch") else "query"
        parameters += [Parameter(p.name, body_location, p.required, p.schema, p.description) for p in body_parameters]
        for placeholder in _placeholders(route):
            if not any(p.location == "path" and p.name == placeholder for p in parameters):
                raise SpecError(self.path, place, f"path placeholder {{{placeholder}}} has no path parameter")
        servers = raw.get("servers") or []
        return Operation(
            operation_id=str(raw.get("operationId") or f"{method}{route}"),
            method=method.upper(),
            path=route,
            description=str(raw.get("description") or raw.get("summary") or ""),
            parameters=tuple(parameters),
            response=self._response(raw.get("responses", {}), f"{place}.responses"),
            body_encoding=body_encoding if body_parameters and body_location == "body" else None,
            server_url=str(servers[0]["url"]).rstrip("/") if servers else None,
            deprecated=bool(raw.get("deprecated", False)),
        )

    def _parameter(self, raw: Any, place: str) -> Parameter:
        raw = self.resolve(raw, place)
        if not isinstance(raw, dict) or "name" not in raw or raw.get("in") not in ("path", "query", "header", "cookie"):
            raise SpecError(self.path, place, "not a parameter object (needs 'name' and 'in')")
        if raw["in"] not in ("path", "query"):
            raise SpecError(self.path, place, f"parameters in '{raw['in']}' are not supported")
        schema = self.json_schema(raw.get("schema", {}), f"{place}.schema")
        return Parameter(
            name=str(raw["name"]),
            location=raw["in"],
            required=bool(raw.get("required", raw["in"] == "path")),
            schema=schema,
            description=str(raw.get("description") or schema.pop("description", "") or ""),
        )

    def _body(self, raw: Any, place: str) -> tuple[BodyEncoding | None, list[Parameter]]:
        if raw is None:
            return None, []
        body = self.resolve(raw, place)
        if not isinstance(body, dict) or not isinstance(body.get("content", {}), dict):
            raise SpecError(self.path, place, "not a request body object (needs a 'content' map)")
        content = body.get("content", {})
        encodings: tuple[tuple[str, BodyEncoding], ...] = ((FORM, "form"), (MULTIPART, "multipart"))
        for media_type, encoding in encodings:
            if media_type in content:
                schema_place = f"{place}.content.{media_type}.schema"
                schema = self.json_schema(content[media_type].get("schema", {}), schema_place)
                required = set(schema.get("required", []))
                properties = schema.get("properties", {})
                return encoding, [
                    Parameter(name, "body", name in required, dict(prop), "") for name, prop in properties.items()
                ]
        if content:
            raise SpecError(self.path, place, f"unsupported request body media type(s): {', '.join(sorted(content))}")
        return None, []

    def _response(self, responses: Any, place: str) -> Response:
        success = next((responses[code] for code in ("200", "201", "202") if code in responses), None)
        if success is None:
            return Response(shape="object")
        content = self.resolve(success, place).get("content", {})
        if "application/json" not in content:
            return Response(shape="binary", content_type=next(iter(content), "application/octet-stream"))
        schema = self.resolve(content["application/json"].get("schema", {}), place)
        object_kind = self.resolve(schema.get("properties", {}).get("object", {}), place).get("enum", [None])[0]
        if object_kind in ("list", "search_result") and "data" in schema.get("properties", {}):
            items = self.resolve(schema["properties"]["data"], place).get("items", {})
            members = self._members(items, place)
            shape = object_kind
        else:
            members = self._members(schema, place)
            shape = "object"
        resource_ids = tuple(dict.fromkeys(m["x-resourceId"] for m in members if "x-resourceId" in m))
        expandable = tuple(dict.fromkeys(f for m in members for f in self._expandable(m, place)))
        returned = self.resolve(schema["properties"]["data"], place).get("items", {}) if shape != "object" else schema
        return Response(
            shape=shape,
            resource_ids=resource_ids,
            expandable_fields=expandable,
            fields=self.field_node(content["application/json"].get("schema", {}) if shape == "object" else returned),
            object_description=str(members[0].get("description") or "") if len(members) == 1 else "",
            field_descriptions={
                name: str(prop.get("description") or "")
                for m in members
                for name, prop in self.resolve(m.get("properties") or {}, place).items()
                if isinstance(prop, dict) and prop.get("description")
            },
        )

    def field_node(self, node: Any) -> FieldNode:
        """A response schema as a FieldNode: named components by reference, the rest inline."""
        if not isinstance(node, dict):
            return "?"
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(COMPONENT_PREFIX):
            self._target(ref, "fields")  # a broken reference fails here, naming itself
            self.referenced.add(ref.removeprefix(COMPONENT_PREFIX))
            return "@" + ref.removeprefix(COMPONENT_PREFIX)
        if "$ref" in node:
            return self.field_node(self.resolve(node, "fields"))
        expansions = node.get("x-expansionResources")
        if isinstance(expansions, dict):
            return {"~": [self.field_node(v) for v in expansions.get("oneOf", [])]}
        variants = node.get("anyOf") or node.get("oneOf")
        if isinstance(variants, list):
            shapes = list(
                {json.dumps(shape, sort_keys=True): shape for shape in map(self.field_node, variants)}.values()
            )
            return shapes[0] if len(shapes) == 1 else shapes
        properties = node.get("properties")
        if isinstance(properties, dict) and properties:
            return {name: self.field_node(sub) for name, sub in properties.items()}
        kind = node.get("type")
        if kind == "object" or "additionalProperties" in node:
            values = node.get("additionalProperties")
            return {"*": self.field_node(values)} if isinstance(values, dict) else "?"
        if kind == "array":
            return {"[]": self.field_node(node.get("items", {}))}
        if kind == "integer" and node.get("format") == "unix-time":
            return "t"
        return LEAF_TYPES.get(str(kind), "?")

    def _objects(self) -> dict[str, FieldNode]:
        """Every component some response names, directly or through another component, with its fields."""
        components = self.document.get("components", {}).get("schemas", {})
        objects: dict[str, FieldNode] = {}
        pending = sorted(self.referenced)
        while pending:
            name = pending.pop()
            if name in objects or name not in components:
                continue
            before = set(self.referenced)
            objects[name] = self.field_node(components[name])
            pending += sorted(self.referenced - before)
        return dict(sorted(objects.items()))

    def _expandable(self, schema: dict[str, Any], place: str, depth: int = 0) -> list[str]:
        """Paths the API expands: an id-or-object field (`x-expansionResources`), a field left out
        unless expanded, or such fields one level inside an object.

        `x-expandableFields` also names plain objects that merely hold expandable fields
        (a customer's `invoice_settings`); the API rejects those, so they become their inner paths.
        """
        paths = []
        for field in schema.get("x-expandableFields", []):
            prop = self.resolve(schema.get("properties", {}).get(field, {}), place)
            variants = [self.resolve(v, place) for v in prop.get("anyOf", prop.get("oneOf", []))]
            # An id that can become its object, or a field the API leaves out unless asked for.
            if "x-expansionResources" in prop or "not included by default" in prop.get("description", "").lower():
                paths.append(field)
            elif depth == 0:
                inner = next((v for v in variants or [prop] if "x-expandableFields" in v), prop)
                paths += [f"{field}.{sub}" for sub in self._expandable(inner, place, depth + 1)]
        return paths

    def _members(self, schema: Any, place: str) -> list[dict[str, Any]]:
        schema = self.resolve(schema, place)
        variants = schema.get("anyOf") or schema.get("oneOf")
        if variants:
            return [m for v in variants for m in self._members(v, place)]
        return [schema]

    def resolve(self, node: Any, place: str) -> Any:
        """Follow `$ref` chains at one node (not inside it)."""
        seen = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                raise SpecError(self.path, place, f"$ref cycle at {ref}")
            seen.add(ref)
            node = self._target(ref, place)
        return node

    def _target(self, ref: Any, place: str) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise SpecError(self.path, place, f"unsupported $ref {ref!r} (only local '#/...' references)")
        node: Any = self.document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise SpecError(self.path, place, f"broken $ref {ref}")
            node = node[part]
        return node

    def json_schema(self, node: Any, place: str, stack: tuple[str, ...] = ()) -> dict[str, Any]:
        """An OpenAPI 3.0 schema as self-contained JSON Schema 2020-12: refs inlined, recursion cut."""
        if isinstance(node, bool):
            return {} if node else {"not": {}}
        if not isinstance(node, dict):
            raise SpecError(self.path, place, "schema is not an object")
        if "$ref" in node:
            ref = node["$ref"]
            if ref in stack or len(stack) >= MAX_INLINE_DEPTH:
                # Recursive structures are cut to a free-form object one level down.
                return {"type": "object"}
            return self.json_schema(self._target(ref, place), place, stack + (ref,))
        schema: dict[str, Any] = {}
        for key, value in node.items():
            if key.startswith("x-") or key in OPENAPI_ONLY_KEYWORDS:
                continue
            if key == "properties":
                if not isinstance(value, dict):
                    raise SpecError(self.path, f"{place}.properties", "not an object")
                schema[key] = {n: self.json_schema(s, f"{place}.properties.{n}", stack) for n, s in value.items()}
            elif key == "additionalProperties" and isinstance(value, bool):
                schema[key] = value
            elif key in ("items", "additionalProperties", "not"):
                schema[key] = self.json_schema(value, f"{place}.{key}", stack)
            elif key in ("anyOf", "oneOf", "allOf"):
                if not isinstance(value, list):
                    raise SpecError(self.path, f"{place}.{key}", "not a list")
                schema[key] = [self.json_schema(s, f"{place}.{key}[{i}]", stack) for i, s in enumerate(value)]
            else:
                schema[key] = value
        if node.get("nullable"):
            schema = {"anyOf": [schema, {"type": "null"}]}
        return schema


def _placeholders(route: str) -> list[str]:
    return [part[1:-1] for part in route.split("/") if part.startswith("{") and part.endswith("}")]
