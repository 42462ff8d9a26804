"""Where in a tool's arguments a validation problem is, named by argument paths only.

pydantic locates an error inside a union by the branch it tried: `created.RangeQuerySpecs.gte`,
`metadata.dict[str,str].key`, `address.literal['']`. Those labels are the generated models' internals
(shared nested models are named from Stripe's titles); an agent knows `created.gte`. The path is rebuilt
by walking the model's fields along pydantic's location and leaving out what names a union branch.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel

UNSET_BRANCH = "literal['']"
"""Stripe's "" that unsets a field: an error in that branch only says the value was not "" (noise)."""


def argument_path(model: type[BaseModel], location: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    current: Any = model
    for part in location:
        current = _unwrapped(current)
        branches = _branches(current)
        if branches:
            current = _branch(branches, str(part))
            continue  # a union's branch label: not part of the path
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next((f for n, f in current.model_fields.items() if part in (n, f.alias)), None)
            current = field.annotation if field is not None else Any
        else:
            origin, args = typing.get_origin(current), typing.get_args(current)
            if origin in (list, tuple, set, frozenset) and args:
                current = args[0]
            elif origin is dict and len(args) == 2:
                current = args[1]
            else:
                current = Any
        parts.append(str(part))
    return ".".join(parts) or "arguments"


def is_unset_noise(location: tuple[int | str, ...]) -> bool:
    return UNSET_BRANCH in location


def _unwrapped(annotation: Any) -> Any:
    """Without Annotated, and without None where it only makes the value optional (pydantic labels no branch)."""
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif len(branches := _all_branches(annotation)) == 1:
            annotation = branches[0]
        else:
            return annotation


def _all_branches(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(a for a in typing.get_args(annotation) if a is not type(None))
    return ()


def _branches(annotation: Any) -> tuple[Any, ...]:
    """The branches of a union that pydantic labels (two or more besides None)."""
    return tuple(_unwrapped(a) for a in _all_branches(annotation))


def _branch(branches: tuple[Any, ...], label: str) -> Any:
    """The branch pydantic's label names: a model by its class name, a list or dict by its kind; else a value."""
    for branch in branches:
        if isinstance(branch, type) and issubclass(branch, BaseModel) and branch.__name__ == label:
            return branch
        origin = typing.get_origin(branch)
        if (origin is list and label.startswith("list[")) or (origin is dict and label.startswith("dict[")):
            return branch
    return Any
