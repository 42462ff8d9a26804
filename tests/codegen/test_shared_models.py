"""Nested argument models: each distinct shape defined once in generated/models/, named from its title.

Small fragments go through the real loader, conventions and renderer (stripe_mcp.codegen.generate);
the stability check runs the naming over Stripe's 2022 spec and the pinned one.
"""

from __future__ import annotations

import ast
import random
from pathlib import Path
from typing import Any

import pytest

from stripe_mcp.codegen.generate import generate_files
from stripe_mcp.codegen.loader import load_api
from stripe_mcp.codegen.nested import Place, shape_key, shape_names, share_models
from stripe_mcp.codegen.stripe import build_tools
from tests.codegen.spec_fragments import Spec, form_body, string, unsettable
from tests.codegen.spec_pairs import SPEC_PINNED, nameable_2022_spec

ADDRESS = {
    "type": "object",
    "title": "address_param",
    "properties": {"city": string(), "line1": string()},
    "required": ["line1"],
}


def obj(title: str | None, **properties: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if title:
        schema["title"] = title
    return schema


def widget_spec() -> Spec:
    """Two resources sharing an address; `options_param` in two shapes; an untitled object; a reserved title."""
    s = Spec()
    widget, gadget = s.resource("widget"), s.resource("gadget")
    s.post(
        "/v1/widgets",
        widget,
        form_body(
            {
                "address": unsettable(ADDRESS),
                "card": obj("options_param", brand=string()),
                "bank": obj("options_param", routing=string(), country=string()),
                "layout": obj(None, columns={"type": "array", "items": string(maxLength=30)}),
                "field": obj("field", label=string()),
            }
        ),
    )
    s.post(
        "/v1/gadgets", gadget, form_body({"shipping_address": ADDRESS, "card": obj("options_param", brand=string())})
    )
    return s


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    return generate_files(widget_spec().write(tmp_path_factory.mktemp("widgets"))).files


def classes(text: str) -> list[str]:
    return [node.name for node in ast.parse(text).body if isinstance(node, ast.ClassDef)]


@pytest.mark.integration
def test_a_shape_is_defined_once_and_imported_where_used(files):
    models = {path: text for path, text in files.items() if path.startswith("models/") and path != "models/__init__.py"}
    assert {path: classes(text) for path, text in models.items()} == {
        "models/address_param.py": ["AddressParam"],
        "models/bank_options_param.py": ["BankOptionsParam"],
        "models/card_options_param.py": ["CardOptionsParam"],
        "models/layout.py": ["Layout"],
        "models/widget_field.py": ["WidgetField"],
    }
    for tool in ("create_a_stripe_widget", "create_a_stripe_gadget"):
        text = files[f"tools/{tool}.py"]
        assert classes(text) == ["Arguments"], tool  # nothing redefined: the rest is imported
        assert "from ..models.address_param import AddressParam" in text, tool
        assert "from ..models.card_options_param import CardOptionsParam" in text, tool
    assert "RootModel" not in "".join(files.values())  # constrained list items are written inline


def test_generated_modules_validate_through_the_shared_models(files, tmp_path):
    import importlib
    import sys

    from pydantic import ValidationError

    from stripe_mcp.codegen.generate import write_tree

    write_tree(files, tmp_path / "shared_check")
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module("shared_check.tools.create_a_stripe_widget")
        arguments = module.Arguments.model_validate({"address": {"line1": "1 Main St"}, "layout": {"columns": ["a"]}})
        assert arguments.model_dump(exclude_unset=True) == {
            "address": {"line1": "1 Main St"},
            "layout": {"columns": ["a"]},
        }
        for bad in (
            {"address": {"city": "x"}},
            {"address": {"line1": "x", "zip": "1"}},
            {"layout": {"columns": ["x" * 31]}},
        ):
            with pytest.raises(ValidationError):
                module.Arguments.model_validate(bad)
        assert module.Arguments.model_validate({"address": ""}).address == ""
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("shared_check")]:
            sys.modules.pop(name)


def test_a_title_with_several_shapes_is_told_apart_by_the_field_that_holds_each(files):
    assert "class CardOptionsParam(BaseModel):" in files["models/card_options_param.py"]
    assert "class BankOptionsParam(BaseModel):" in files["models/bank_options_param.py"]


def test_an_untitled_object_is_named_by_its_field_and_a_reserved_name_is_qualified(files):
    assert "class Layout(BaseModel):" in files["models/layout.py"]
    assert "An untitled object" in files["models/layout.py"].splitlines()[1]
    # `Field` is pydantic's: the `field` title is qualified by its resource, as a second shape would be.
    assert "class WidgetField(BaseModel):" in files["models/widget_field.py"]
    assert "`field` in Stripe's spec" in files["models/widget_field.py"].splitlines()[1]


def test_served_schemas_keep_no_title_and_models_no_description(tmp_path):
    tools = {t.name: t for t in build_tools(load_api(widget_spec().write(tmp_path)))}
    tool = tools["create_a_stripe_widget"]
    assert '"title"' not in str(tool.input_schema)
    assert tool.model_schema["properties"]["card"]["title"] == "options_param"
    assert "description" not in str(share_models(tools.values()).definitions)


def test_names_do_not_depend_on_the_order_of_tools(tmp_path):
    tools = build_tools(load_api(widget_spec().write(tmp_path)))
    shuffled = list(tools)
    random.Random(3).shuffle(shuffled)
    assert share_models(tools).definitions == share_models(shuffled).definitions


def test_the_shortest_qualifier_that_tells_the_places_apart_wins():
    def place(resource: str, *fields: str, owners: tuple[str, ...] = ()) -> Place:
        return Place(f"create_a_stripe_{resource}", f"Create {resource}", resource, fields, owners, fields)

    a, b, c = (shape_key(obj("mandate_options_param", **{name: string()})) for name in ("a", "b", "c"))
    titles = dict.fromkeys((a, b, c), "mandate_options_param")
    names = shape_names(
        {
            a: [place("payment_intent", "payment_method_options", "card", "mandate_options")],
            b: [place("setup_intent", "payment_method_options", "card", "mandate_options")],
            c: [place("payment_intent", "payment_method_options", "acss_debit", "mandate_options")],
        },
        titles,
    )
    # The leaf field is the same everywhere; card/acss_debit parts c from the rest, the resource parts a and b.
    assert names == {
        a: "PaymentIntentCardMandateOptionsParam",
        b: "SetupIntentMandateOptionsParam",
        c: "AcssDebitMandateOptionsParam",
    }


@pytest.mark.integration
def test_names_are_stable_from_the_2022_spec_to_the_pinned_one(tmp_path):
    """A shape keeps its name unless the set of shapes under its title changed between the two specs."""
    old_path, _ = nameable_2022_spec(tmp_path)

    def named(path: Path) -> dict[str, tuple[str, str]]:
        """Shape key -> (title, class name)."""
        shared = share_models(build_tools(load_api(path)))
        return {shape_key(shared.shapes[name]): (shared.titles[name], name) for name in shared.definitions}

    def shapes_titled(named_: dict[str, tuple[str, str]], title: str) -> set[str]:
        return {key for key, (t, _) in named_.items() if t == title}

    old, new = named(old_path), named(SPEC_PINNED)
    common = old.keys() & new.keys()
    unchanged_titles = {old[k][0] for k in common if shapes_titled(old, old[k][0]) == shapes_titled(new, old[k][0])}
    kept = [k for k in common if old[k][0] in unchanged_titles]
    assert len(common) > 150 and len(kept) > 140
    assert [(old[k], new[k][1]) for k in kept if old[k][1] != new[k][1]] == []
    # Where a title gained or lost shapes, its shapes may be told apart anew: a few renames, no more.
    renamed = [old[k][1] for k in common if old[k][1] != new[k][1]]
    assert len(renamed) <= len(common) // 10, renamed
