"""The pydantic source of the argument models, by datamodel-code-generator, one class per definition.

datamodel-code-generator writes a `RootModel` class for a constrained value that a field cannot
hold inline (an item of a list of strings of at most 5000 characters): its root type is written in
place instead (`list[Annotated[str, Field(max_length=5000)]]`), which accepts and refuses the same
values and needs no invented name. Any other class it writes must be one we named: a shared
definition, or a tool's `Arguments`; the output is checked for that.
"""

from __future__ import annotations

import ast
import io
import json
import tokenize
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from stripe_mcp.codegen.schemas import Schema

ARGUMENTS = "Arguments"
PLACEHOLDER = "StripeMcpToolArguments"
"""The name a tool's `Arguments` class has inside a batch, before it is renamed."""
STUB: Schema = {"type": "object", "properties": {}}
"""Stands for a shared definition while a tool's own model is written: only its name is used."""


class ModelCodeError(Exception):
    """datamodel-code-generator wrote something the generator cannot place."""


def models_code(schemas: dict[str, Schema], references: Iterable[str]) -> dict[str, str]:
    """Each schema's class as its own module's code (the imports it may need, then the class), from one
    datamodel-code-generator run. The shared models named in `references` and not in `schemas` are imported
    by the module, not written. The imports are the run's; the formatter drops those a module does not use.
    """
    if not schemas:
        return {}
    elsewhere = set(references) - schemas.keys()
    code = _datamodel({"$defs": {**dict.fromkeys(sorted(elsewhere), STUB), **schemas}}, skip_root_model=True)
    code = _checked(_inline_root_models(_without_classes(code, elsewhere)), set(schemas))
    imports, _ = split_imports(code)
    lines = code.splitlines()
    return {
        node.name: imports + "\n\n\n" + "\n".join(lines[node.lineno - 1 : node.end_lineno]) + "\n"
        for node in _classes(code)
    }


def split_imports(code: str) -> tuple[str, str]:
    """The import lines that open `code`, and the rest."""
    lines = code.splitlines()
    count = next((i for i, line in enumerate(lines) if line and not line.startswith(("from ", "import "))), len(lines))
    return "\n".join(lines[:count]).strip(), "\n".join(lines[count:]).strip()


def arguments_codes(tools: Sequence[tuple[Schema, Iterable[str]]]) -> list[str]:
    """Each tool's `Arguments` model, from one run for them all: written under a placeholder name, then renamed."""
    placeholders = [f"{PLACEHOLDER}{index:04d}" for index in range(len(tools))]
    references = {name for _, names in tools for name in names}
    if any(name.startswith(PLACEHOLDER) for name in references):
        raise ModelCodeError(f"a shared model's name starts with the placeholder {PLACEHOLDER}")
    schemas = {name: {**schema, "title": name} for name, (schema, _) in zip(placeholders, tools, strict=True)}
    codes = models_code(schemas, references)
    return [codes[name].replace(f"class {name}(", f"class {ARGUMENTS}(", 1) for name in placeholders]


def _datamodel(schema: Schema, **options: Any) -> str:
    from datamodel_code_generator import LiteralType, PythonVersion, generate
    from datamodel_code_generator.enums import DataModelType, InputFileType, StrictTypes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = generate(
            json.dumps(schema),
            input_file_type=InputFileType.JsonSchema,
            output_model_type=DataModelType.PydanticV2BaseModel,
            target_python_version=PythonVersion.PY_311,
            formatters=[],  # the pinned ruff formats every generated file (stripe_mcp.codegen.formatting)
            disable_timestamp=True,
            enum_field_as_literal=LiteralType.All,
            extra_fields="forbid",
            # Money is never guessed: "15.00" or 15.0 for an amount in cents is refused, not sent as 15;
            # "false" for a flag likewise (stripe_mcp.tools.arguments words the error).
            strict_types=[StrictTypes.int, StrictTypes.bool],
            use_annotated=True,
            use_double_quotes=True,
            use_union_operator=True,
            use_standard_collections=True,
            use_schema_description=False,
            use_field_description=False,
            **options,
        )
    lines = str(code).splitlines()
    # Drop datamodel-code-generator's own header: the templates write ours.
    while lines and (lines[0].startswith("#") or not lines[0].strip()):
        lines.pop(0)
    return "\n".join(lines).rstrip() + "\n"


def _classes(code: str) -> list[ast.ClassDef]:
    return [node for node in ast.parse(code).body if isinstance(node, ast.ClassDef)]


def _without_lines(code: str, nodes: Iterable[ast.stmt]) -> str:
    lines = code.splitlines(keepends=True)
    for node in sorted(nodes, key=lambda n: n.lineno, reverse=True):
        del lines[node.lineno - 1 : node.end_lineno]
    return "".join(lines)


def _without_classes(code: str, names: set[str]) -> str:
    return _without_lines(code, [node for node in _classes(code) if node.name in names])


def _root_type(node: ast.ClassDef) -> str | None:
    """The root annotation of `class X(RootModel[...]): root: T`, as source; None for any other class."""
    if len(node.bases) != 1 or len(node.body) != 1:
        return None
    base, statement = node.bases[0], node.body[0]
    if not (isinstance(base, ast.Subscript) and isinstance(base.value, ast.Name) and base.value.id == "RootModel"):
        return None
    if not isinstance(statement, ast.AnnAssign) or not isinstance(statement.target, ast.Name):
        return None
    if statement.target.id != "root" or statement.value is not None:
        return None
    return ast.unparse(statement.annotation)


def _inline_root_models(code: str) -> str:
    roots: dict[str, str] = {}
    nodes = []
    for node in _classes(code):
        root = _root_type(node)
        if root is not None:
            roots[node.name] = root
            nodes.append(node)
    if not roots:
        return code
    resolved: dict[str, str] = {}

    def resolve(name: str) -> str:
        if name not in resolved:
            resolved[name] = _replace_names(roots[name], {n: resolve(n) for n in _names_in(roots[name]) & roots.keys()})
        return resolved[name]

    return _replace_names(_without_lines(code, nodes), {name: resolve(name) for name in roots})


def _names_in(source: str) -> set[str]:
    return {t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.NAME}


def _replace_names(source: str, replacements: dict[str, str]) -> str:
    """`source` with every name token in `replacements` replaced (names inside strings stay as they are)."""
    lines = source.splitlines(keepends=True)
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    spots = [t for t in tokens if t.type == tokenize.NAME and t.string in replacements]
    for token in reversed(spots):
        (row, start), (_, end) = token.start, token.end
        line = lines[row - 1]
        lines[row - 1] = line[:start] + replacements[token.string] + line[end:]
    return "".join(lines)


def _checked(code: str, expected: set[str]) -> str:
    found = {node.name for node in _classes(code)}
    if found != expected:
        unexpected = ", ".join(sorted(found - expected)) or "none"
        missing = ", ".join(sorted(expected - found)) or "none"
        raise ModelCodeError(f"datamodel-code-generator wrote unexpected classes ({unexpected}); missing: {missing}")
    return code
