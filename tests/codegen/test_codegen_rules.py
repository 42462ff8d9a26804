"""The naming, argument and schema rules of the code generator, on small spec fragments.

Each fragment is an OpenAPI 3 document built in Python (tests/spec_fragments.py), written to a temp
folder and run through the real loader (stripe_mcp.codegen.loader.load_api) and Stripe conventions
(stripe_mcp.codegen.stripe.build_tools).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from stripe_mcp.codegen.descriptions import Descriptions
from stripe_mcp.codegen.loader import load_api
from stripe_mcp.codegen.stripe import ConventionError, Overrides
from stripe_mcp.codegen.text import clean_text
from tests.codegen.spec_fragments import (
    MULTIPART,
    Spec,
    form_body,
    mini_stripe,
    query_parameter,
    ref,
    string,
    tools_of,
)

TOOL_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
HTML_TAG = re.compile(r"<[a-zA-Z/!][^>]*>")


@pytest.fixture(scope="module")
def tools(tmp_path_factory) -> dict[str, Any]:
    """The rules alone: without the reviewed descriptions of codegen/descriptions.yaml (tested on their own)."""
    return tools_of(mini_stripe(), tmp_path_factory.mktemp("mini"), words=Descriptions())


def arguments(tool) -> dict[str, Any]:
    return {a.name: a for a in tool.arguments}


def subschemas(schema: Any, path: str = "#") -> Iterator[tuple[str, Any]]:
    """Every subschema of a JSON Schema (the keywords our schemas can use), with its location."""
    yield path, schema
    if not isinstance(schema, dict):
        return
    for key in ("properties", "patternProperties", "$defs"):
        for name, sub in (schema.get(key) or {}).items():
            yield from subschemas(sub, f"{path}/{key}/{name}")
    for key in ("items", "additionalProperties", "not", "contains", "if", "then", "else"):
        if key in schema:
            yield from subschemas(schema[key], f"{path}/{key}")
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, sub in enumerate(schema.get(key) or []):
            yield from subschemas(sub, f"{path}/{key}/{i}")


def assert_client_safe(schema: dict[str, Any]) -> None:
    """What every MCP client accepts: the contract of an input schema."""
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    for key in ("anyOf", "oneOf", "allOf"):
        assert key not in schema
    for where, sub in subschemas(schema):
        if where == "#/additionalProperties":
            continue
        assert not isinstance(sub, bool), f"boolean subschema at {where}"
        assert "$ref" not in sub, f"$ref at {where}"
        assert "title" not in sub, f"title at {where}"
    assert "$ref" not in json.dumps(schema)


# Names ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "method", "path"),
    [
        ("list_all_stripe_customers", "list", "GET", "/v1/customers"),
        ("get_single_stripe_customer_by_id", "get", "GET", "/v1/customers/{customer}"),
        ("create_a_stripe_customer", "create", "POST", "/v1/customers"),
        ("update_a_stripe_customer_by_id", "update", "POST", "/v1/customers/{customer}"),
        ("delete_a_stripe_customer_by_id", "delete", "DELETE", "/v1/customers/{customer}"),
        ("search_stripe_customers", "search", "GET", "/v1/customers/search"),
        ("list_all_stripe_customer_subscriptions", "list", "GET", "/v1/customers/{customer}/subscriptions"),
        (
            "get_single_stripe_customer_balance_transaction_by_id",
            "get",
            "GET",
            "/v1/customers/{customer}/balance_transactions/{transaction}",
        ),
        ("capture_a_stripe_charge", "custom", "POST", "/v1/charges/{charge}/capture"),
        ("cancel_a_stripe_payment_intent", "custom", "POST", "/v1/payment_intents/{intent}/cancel"),
        ("create_a_stripe_account_login_link", "create", "POST", "/v1/accounts/{account}/login_links"),
        ("pay_a_stripe_invoice", "custom", "POST", "/v1/invoices/{invoice}/pay"),
        ("create_a_stripe_refund", "create", "POST", "/v1/refunds"),
        ("list_all_stripe_reporting_report_types", "list", "GET", "/v1/reporting/report_types"),
        ("get_single_stripe_balance_by_id", "get", "GET", "/v1/balance"),
    ],
)
def test_names_follow_the_kind_and_the_resource(tools, name, kind, method, path):
    tool = tools[name]
    assert (tool.kind, tool.method, tool.path) == (kind, method, path)


def test_every_operation_is_one_tool_with_a_valid_unique_name(tools):
    spec = mini_stripe()
    operations = sum(len(item) for item in spec.paths.values())
    assert len(tools) == operations
    assert all(TOOL_NAME.match(name) for name in tools)
    assert len({(t.method, t.path) for t in tools.values()}) == operations


def test_singleton_balance_keeps_by_id_and_takes_no_id(tools):
    tool = tools["get_single_stripe_balance_by_id"]
    assert [(a.name, a.location) for a in tool.arguments] == [("fields", "control")]  # what to keep of the balance
    assert tool.path_arguments == {}
    assert tool.input_schema["properties"].keys() == {"fields"} and "required" not in tool.input_schema


def test_account_singleton_and_account_by_id_do_not_collide(tools):
    """GET /v1/account and GET /v1/accounts/{account} make the same name: the route with fewer ids is the own account."""
    singleton = tools["get_single_stripe_own_account_by_id"]
    by_id = tools["get_single_stripe_account_by_id"]
    assert singleton.path == "/v1/account" and singleton.path_arguments == {}
    assert by_id.path == "/v1/accounts/{account}" and by_id.path_arguments == {"id": "account"}


def test_collision_rule_needs_both_halves(tmp_path):
    """Without /v1/accounts/{account}, GET /v1/account keeps its _by_id name (like the balance)."""
    s = Spec()
    s.get("/v1/account", s.resource("account"))
    assert list(tools_of(s, tmp_path)) == ["get_single_stripe_account_by_id"]


def test_action_returns_the_parent_create_returns_another_resource(tools):
    capture = tools["capture_a_stripe_charge"]
    assert capture.kind == "custom" and capture.path_arguments == {"id": "charge"}
    login_link = tools["create_a_stripe_account_login_link"]
    assert login_link.kind == "create" and login_link.path_arguments == {"account_id": "account"}


def test_without_a_retrieve_a_plural_last_word_is_a_create(tmp_path):
    s = Spec()
    s.post("/v1/things/{thing}/parts", s.resource("part"))
    s.post("/v1/things/{thing}/archive", s.resource("thing"))
    names = tools_of(s, tmp_path)
    assert names["create_a_stripe_thing_part"].kind == "create"
    assert names["archive_a_stripe_thing"].kind == "custom"
    assert names["archive_a_stripe_thing"].path_arguments == {"id": "thing"}


def test_an_action_that_returns_another_resource_than_its_parent_is_a_create(tmp_path):
    s = Spec()
    s.get("/v1/things/{thing}", s.resource("thing"))
    s.post("/v1/things/{thing}/archive", s.resource("archive_receipt"))
    names = tools_of(s, tmp_path)
    assert names["create_a_stripe_thing_archive"].kind == "create"


def test_own_id_is_id_and_parent_id_is_parent_id(tools):
    assert tools["get_single_stripe_customer_by_id"].path_arguments == {"id": "customer"}
    assert tools["list_all_stripe_customer_subscriptions"].path_arguments == {"customer_id": "customer"}
    assert tools["get_single_stripe_customer_balance_transaction_by_id"].path_arguments == {
        "customer_id": "customer",
        "id": "transaction",
    }
    assert tools["delete_a_stripe_subscription_by_id"].path_arguments == {"id": "subscription_exposed_id"}
    for tool in tools.values():
        for argument in tool.arguments:
            if argument.location == "path":
                assert argument.required
                assert argument.schema["type"] == "string"
                assert argument.name == "id" or argument.name.endswith("_id")


def test_override_tool_names_are_applied(tmp_path):
    overrides = dataclasses.replace(Overrides.load(), tool_names={"GET /v1/balance": "get_stripe_balance"})
    s = Spec()
    s.get("/v1/balance", s.resource("balance"))
    assert list(tools_of(s, tmp_path, overrides)) == ["get_stripe_balance"]


def _colliding_spec() -> Spec:
    s = Spec()
    rate = s.resource("tax_rate")
    s.list("/v1/tax_rates", rate)
    s.list("/v1/tax/rates", rate)
    return s


def test_a_name_collision_without_override_names_both_paths(tmp_path):
    with pytest.raises(ConventionError) as caught:
        tools_of(_colliding_spec(), tmp_path)
    message = str(caught.value)
    assert "list_all_stripe_tax_rates" in message
    assert "GET /v1/tax_rates" in message and "GET /v1/tax/rates" in message
    assert "overrides.yaml" in message


def test_a_name_collision_is_resolved_by_an_override(tmp_path):
    overrides = dataclasses.replace(
        Overrides.load(), tool_names={"GET /v1/tax/rates": "list_all_stripe_tax_namespace_rates"}
    )
    names = tools_of(_colliding_spec(), tmp_path, overrides)
    assert sorted(names) == ["list_all_stripe_tax_namespace_rates", "list_all_stripe_tax_rates"]
    assert names["list_all_stripe_tax_rates"].path == "/v1/tax_rates"


def test_a_name_longer_than_64_characters_needs_an_override(tmp_path):
    s = Spec()
    s.get("/v1/" + "very_long_resource_name_" * 3 + "things/{thing}", s.resource("thing"))
    with pytest.raises(ConventionError, match=r"is not \^\[a-z0-9_\]\{1,64\}\$"):
        tools_of(s, tmp_path)


# Pagination, expand, control arguments ---------------------------------------------------------------


def test_cursor_pagination_hides_stripe_cursors_and_adds_next_cursor(tools):
    tool = tools["list_all_stripe_customers"]
    names = arguments(tool)
    assert tool.pagination == "cursor"
    assert "starting_after" not in names and "ending_before" not in names
    assert names["next_cursor"].location == "control" and not names["next_cursor"].required
    assert names["next_cursor"].schema["type"] == "string"
    assert names["limit"].schema == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "description": names["limit"].schema["description"],
    }
    assert list(names)[-1] == "next_cursor"


def test_a_list_without_cursors_is_paginated_locally(tools):
    tool = tools["list_all_stripe_reporting_report_types"]
    assert tool.pagination == "local"
    assert set(arguments(tool)) == {"limit", "next_cursor", "fields"}


def test_search_hides_page_and_keeps_query_required(tools):
    tool = tools["search_stripe_customers"]
    names = arguments(tool)
    assert tool.pagination == "search"
    assert "page" not in names
    assert set(names) == {"query", "limit", "next_cursor", "expand", "fields"}
    assert tool.input_schema["required"] == ["query"]
    assert "search query language" in names["query"].schema["description"]


def test_expand_lists_the_expandable_fields(tools):
    expand = arguments(tools["get_single_stripe_customer_by_id"])["expand"]
    assert expand.schema["type"] == "array"
    assert expand.schema["items"] == {"type": "string", "enum": ["default_source", "subscriptions"]}


@pytest.mark.parametrize("name", ["list_all_stripe_customers", "search_stripe_customers"])
def test_expand_of_a_list_is_prefixed_with_data(tools, name):
    expand = arguments(tools[name])["expand"]
    assert expand.schema["items"]["enum"] == ["data.default_source", "data.subscriptions"]


@pytest.mark.parametrize(
    "name", ["get_single_stripe_balance_by_id", "list_all_stripe_accounts", "create_a_stripe_account_login_link"]
)
def test_expand_disappears_without_expandable_fields(tools, name):
    assert "expand" not in arguments(tools[name])


def test_post_gains_an_idempotency_key_and_get_delete_do_not(tools):
    for tool in tools.values():
        names = arguments(tool)
        if tool.method == "POST":
            key = names["idempotency_key"]
            assert key.location == "control" and not key.required
            assert key.schema["type"] == "string" and key.schema["maxLength"] == 255
        else:
            assert "idempotency_key" not in names


def test_delete_body_fields_go_to_the_query(tools):
    tool = tools["delete_a_stripe_subscription_by_id"]
    assert tool.arguments_in("query") == ("expand", "invoice_now", "prorate")
    assert tool.arguments_in("body") == ()
    assert tool.body_encoding is None


def test_body_fields_keep_stripe_names_and_encoding(tools):
    refund = tools["create_a_stripe_refund"]
    assert set(refund.arguments_in("body")) == {"amount", "charge", "payment_intent", "metadata", "expand"}
    assert refund.body_encoding == "form"
    upload = tools["create_a_stripe_file"]
    assert upload.body_encoding == "multipart"
    assert upload.server_url == "https://files.stripe.com"
    assert arguments(upload)["file"].schema["type"] == "string"
    assert arguments(upload)["file"].schema["contentEncoding"] == "base64"
    assert upload.input_schema["required"] == ["file", "purpose"]


def test_the_loader_reads_a_multipart_body_as_body_parameters(tmp_path):
    s = Spec()
    s.post("/v1/files", s.resource("file"), form_body({"purpose": string()}, media_type=MULTIPART))
    api = load_api(s.write(tmp_path))
    (operation,) = api.operations
    assert operation.body_encoding == "multipart"
    assert [(p.name, p.location) for p in operation.parameters] == [("purpose", "body")]


# Schemas ------------------------------------------------------------------------------------------------


def test_every_input_schema_is_client_safe(tools):
    for tool in tools.values():
        assert_client_safe(tool.input_schema)


def test_root_schema_shape(tools):
    schema = tools["create_a_stripe_file"].input_schema
    assert list(schema) == ["type", "properties", "required", "additionalProperties"]
    assert schema["type"] == "object" and schema["additionalProperties"] is False


def test_nested_additional_properties_flags_are_dropped(tools):
    schema = tools["create_a_stripe_customer"].input_schema["properties"]
    address = schema["address"]["anyOf"][0]
    assert "additionalProperties" not in address
    assert schema["preferences"]["properties"]["free"] == {"type": "object"}
    assert schema["metadata"]["anyOf"][0]["additionalProperties"] == {"type": "string"}


def test_titles_are_dropped(tools):
    schema = tools["create_a_stripe_customer"].input_schema
    assert '"title"' not in json.dumps(schema)


def test_empty_string_unset_idiom_is_preserved(tools):
    properties = tools["create_a_stripe_customer"].input_schema["properties"]
    for name in ("description", "metadata", "address"):
        variants = properties[name]["anyOf"]
        assert {"type": "string", "enum": [""]} in variants, name
    validator = Draft202012Validator(tools["create_a_stripe_customer"].input_schema)
    assert validator.is_valid({"description": "", "metadata": "", "address": ""})
    assert validator.is_valid({"metadata": {"order": "1"}, "address": {"line1": "1 Main St"}})
    assert not validator.is_valid({"metadata": "x"})


def test_nullable_becomes_any_of_null(tools):
    nickname = tools["create_a_stripe_customer"].input_schema["properties"]["nickname"]
    assert nickname == {"anyOf": [{"type": "string"}, {"type": "null"}]}


def test_a_recursive_ref_is_cut(tools):
    tree = tools["create_a_stripe_customer"].input_schema["properties"]["tree"]
    assert tree["properties"]["children"] == {"type": "array", "items": {"type": "object"}}


def test_mutually_recursive_refs_terminate(tmp_path):
    s = Spec()
    s.schema("a", {"type": "object", "properties": {"b": ref("b")}})
    s.schema("b", {"type": "object", "properties": {"a": ref("a"), "self": ref("b")}})
    s.post("/v1/widgets", s.resource("widget"), form_body({"a": ref("a")}))
    tool = tools_of(s, tmp_path)["create_a_stripe_widget"]
    assert_client_safe(tool.input_schema)
    assert tool.input_schema["properties"]["a"]["properties"]["b"]["properties"]["a"] == {"type": "object"}


def test_a_ref_chain_deeper_than_the_limit_terminates(tmp_path):
    s = Spec()
    for i in range(40):
        s.schema(f"level{i}", {"type": "object", "properties": {"next": ref(f"level{i + 1}")}})
    s.schema("level40", {"type": "string"})
    s.post("/v1/widgets", s.resource("widget"), form_body({"deep": ref("level0")}))
    assert_client_safe(tools_of(s, tmp_path)["create_a_stripe_widget"].input_schema)


def test_parameter_level_refs_are_followed(tmp_path):
    s = Spec()
    document_parameter = query_parameter("email", string(), description="An email.")
    s.get("/v1/widgets/{widget}", s.resource("widget"), [{"$ref": "#/components/parameters/email"}])
    path = tmp_path / "spec.json"
    document = s.document()
    document["components"]["parameters"] = {"email": document_parameter}
    path.write_text(json.dumps(document))
    tool = tools_of(path)["get_single_stripe_widget_by_id"]
    assert arguments(tool)["email"].schema == {"description": "An email.", "maxLength": 5000, "type": "string"}


def test_boolean_items_subschema_is_made_an_object(tmp_path):
    s = Spec()
    s.post("/v1/widgets", s.resource("widget"), form_body({"tags": {"type": "array", "items": True}}))
    document = s.document()
    document["openapi"] = "3.1.0"
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(document))
    assert_client_safe(tools_of(path)["create_a_stripe_widget"].input_schema)


# Annotations and tags ----------------------------------------------------------------------------------


def hints(tool) -> tuple[bool, bool, bool, bool]:
    a = tool.annotations
    return a["readOnlyHint"], a["destructiveHint"], a["idempotentHint"], a["openWorldHint"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # (readOnly, destructive, idempotent, openWorld)
        ("get_single_stripe_customer_by_id", (True, False, True, True)),
        ("list_all_stripe_customers", (True, False, True, True)),
        ("search_stripe_customers", (True, False, True, True)),
        ("delete_a_stripe_customer_by_id", (False, True, True, True)),
        ("create_a_stripe_refund", (False, True, False, True)),
        ("create_a_stripe_customer", (False, False, False, True)),
        ("cancel_a_stripe_payment_intent", (False, True, False, True)),
        ("pay_a_stripe_invoice", (False, True, False, True)),
        ("capture_a_stripe_charge", (False, False, False, True)),
        ("update_a_stripe_customer_by_id", (False, False, True, True)),
    ],
)
def test_annotations_per_kind(tools, name, expected):
    assert hints(tools[name]) == expected


def test_every_tool_has_all_annotations(tools):
    for tool in tools.values():
        assert set(tool.annotations) >= {"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"}
        assert tool.annotations["openWorldHint"] is True
        assert tool.annotations["readOnlyHint"] is (tool.method == "GET")
        assert tool.annotations["title"] == tool.title


@pytest.mark.parametrize(
    ("name", "tags"),
    [
        ("list_all_stripe_customers", ("customers", "support", "customer")),
        ("delete_a_stripe_customer_by_id", ("customers", "support", "customer")),  # deleted_customer: a customer
        # The resource's area first, then the path's, then the teams' areas that work with it.
        ("list_all_stripe_customer_subscriptions", ("billing", "customers", "support", "subscription")),
        ("list_all_stripe_charges", ("payments", "disputes", "support", "finance", "charge")),  # a dispute's charge
        ("create_a_stripe_refund", ("payments", "support", "finance", "refund")),
        ("get_single_stripe_own_account_by_id", ("connect", "account")),
        ("get_single_stripe_balance_by_id", ("balance", "finance", "balance")),
        ("list_all_stripe_reporting_report_types", ("reporting", "finance", "reporting.report_type")),
        ("get_single_stripe_widget_by_id", ("widgets", "widget")),  # unknown area: the path segment
    ],
)
def test_tags_are_areas_then_resource(tools, name, tags):
    assert tools[name].tags == tags
    assert tools[name].tags[: len(tools[name].areas)] == tools[name].areas


def test_areas_come_from_the_overrides_file(tmp_path):
    overrides = dataclasses.replace(Overrides.load(), areas_by_path={"widgets": "gadgets"})
    s = Spec()
    s.get("/v1/widgets/{widget}", s.resource("widget"))
    assert tools_of(s, tmp_path, overrides)["get_single_stripe_widget_by_id"].tags == ("gadgets", "widget")


# Descriptions ------------------------------------------------------------------------------------------

LEADS = {
    "list": "List Stripe ",
    "search": "Search Stripe ",
    "get": "Retrieve ",
    "create": "Create ",
    "update": "Update ",
    "delete": "Delete ",
}


def test_descriptions_are_plain_text_within_budget_and_lead_with_what_the_tool_does(tools):
    for tool in tools.values():
        text = tool.description
        assert 0 < len(text) <= 1024, tool.name
        assert not HTML_TAG.search(text) and "&amp;" not in text and "&rsquo;" not in text, tool.name
        first = text.split(". ")[0]
        if tool.kind == "custom":
            verb = tool.name.split("_a_stripe_")[0].replace("_", " ")
            assert first.lower().startswith(verb), (tool.name, first)
        else:
            assert first.startswith(LEADS[tool.kind]), (tool.name, first)
        assert "Stripe" in first


def test_a_long_html_description_is_cut_to_whole_sentences(tools):
    text = tools["get_single_stripe_charge_by_id"].description
    assert len(text) <= 1024
    assert text.startswith("Retrieve a Stripe charge by its id. Retrieves the details of a charge")
    assert text.endswith(".")
    assert "charges & their details" in text  # entities decoded, links reduced to their words


def test_stripe_words_survive_and_html_entities_decode(tools):
    assert "you’ve" in tools["search_stripe_customers"].description


def test_list_and_search_descriptions_say_how_to_page(tools):
    for name in ("list_all_stripe_customers", "search_stripe_customers"):
        assert tools[name].description.endswith("pass next_cursor back for the next page.")


def test_argument_descriptions_are_plain_text(tools):
    email = arguments(tools["list_all_stripe_customers"])["email"]
    assert email.schema["description"] == "A filter on the list, based on the object email field."
    for tool in tools.values():
        for where, sub in subschemas(tool.input_schema):
            if isinstance(sub, dict) and isinstance(sub.get("description"), str):
                assert not HTML_TAG.search(sub["description"]), (tool.name, where)
                if where.count("/properties/") > 1:  # nested fields get a shorter budget than arguments
                    assert len(sub["description"]) <= 200, (tool.name, where)


def test_long_argument_descriptions_are_cut_and_stripped(tools):
    properties = tools["create_a_stripe_customer"].input_schema["properties"]
    note = properties["note"]["description"]
    assert note.startswith("A note about the customer") and len(note) <= 400 and note.endswith(".")
    footer = properties["invoice_settings"]["properties"]["footer"]["description"]
    assert footer.startswith("Default footer to be displayed") and len(footer) <= 200


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("ab .<>/p&;!?A\n")), max_size=600), limit=st.integers(1, 300))
def test_clean_text_always_fits_its_budget(text, limit):
    cleaned = clean_text(text, limit)
    assert len(cleaned) <= limit
    assert "\n" not in cleaned


def test_id_arguments_say_where_to_find_one(tools):
    refund = arguments(tools["create_a_stripe_refund"])
    assert refund["charge"].schema["description"].endswith("Takes a charge id: find one with list_all_stripe_charges.")
    assert (
        refund["payment_intent"]
        .schema["description"]
        .endswith("Takes a payment intent id: find one with list_all_stripe_payment_intents.")
    )
    subscriptions = tools["list_all_stripe_customer_subscriptions"]
    assert arguments(subscriptions)["customer_id"].schema["description"] == (
        "The id of the customer. Find one with list_all_stripe_customers."
    )
    assert "Needs customer_id from list_all_stripe_customers." in subscriptions.description
    own = arguments(tools["get_single_stripe_customer_by_id"])["id"]
    assert own.schema["description"] == "The id of the customer. Find one with list_all_stripe_customers."


def test_a_list_tool_does_not_point_to_itself(tools):
    charges = arguments(tools["list_all_stripe_charges"])
    assert "list_all_stripe_customers" in charges["customer"].schema["description"]
    for tool in tools.values():
        assert f"with {tool.name}." not in json.dumps(tool.input_schema), tool.name


def test_the_article_before_stripe_is_a(tools):
    assert tools["create_a_stripe_account_login_link"].description.startswith("Create a Stripe account login link.")
    assert tools["pay_a_stripe_invoice"].description.startswith("Pay a Stripe invoice.")


def test_the_hint_article_before_a_vowel_is_an(tmp_path):
    s = Spec()
    s.list("/v1/invoices", s.resource("invoice"))
    s.post("/v1/credit_notes", s.resource("credit_note"), form_body({"invoice": string()}))
    tool = tools_of(s, tmp_path)["create_a_stripe_credit_note"]
    assert (
        "Takes an invoice id: find one with list_all_stripe_invoices."
        in arguments(tool)["invoice"].schema["description"]
    )


def test_a_namespaced_id_points_to_its_own_list(tmp_path):
    s = Spec()
    s.list("/v1/accounts", s.resource("account"))
    fc_account = s.resource("financial_connections.account")
    s.list("/v1/financial_connections/accounts", fc_account)
    s.get("/v1/financial_connections/accounts/{account}", fc_account)
    tool = tools_of(s, tmp_path)["get_single_stripe_financial_connections_account_by_id"]
    assert (
        arguments(tool)["id"]
        .schema["description"]
        .endswith("Find one with list_all_stripe_financial_connections_accounts.")
    )


def test_a_namespaced_list_does_not_claim_a_bare_field_name(tmp_path):
    s = Spec()
    s.list("/v1/issuing/cards", s.resource("issuing.card"))
    s.post("/v1/charges", s.resource("charge"), form_body({"card": string()}))
    tool = tools_of(s, tmp_path)["create_a_stripe_charge"]
    assert "list_all_stripe_issuing_cards" not in arguments(tool)["card"].schema.get("description", "")


# Any path shape ---------------------------------------------------------------------------------------

SEGMENTS = st.sampled_from(
    ["customers", "{customer}", "charges", "{id}", "capture", "refunds", "account", "tax", "rates", "search", "v2x"]
)


@settings(max_examples=60, deadline=None)
@given(
    routes=st.lists(
        st.tuples(st.sampled_from(["get", "post", "delete"]), st.lists(SEGMENTS, min_size=1, max_size=5)),
        min_size=1,
        max_size=8,
        unique_by=lambda r: (r[0], "/".join(r[1])),
    )
)
@pytest.mark.integration
def test_any_path_shape_gives_valid_unique_names_or_a_convention_error(tmp_path_factory, routes):
    s = Spec()
    thing = s.resource("thing", expandable=["owner"])
    for method, segments in routes:
        path = "/v1/" + "/".join(segments)
        if len(set(segments)) != len(segments):
            continue  # a placeholder twice is not a valid OpenAPI path
        if method == "get" and segments[-1] in ("customers", "charges", "refunds"):
            s.list(path, thing)
        else:
            s.operation(method, path, thing)
    if not s.paths:
        return
    try:
        tools = tools_of(s, tmp_path_factory.mktemp("shape"))
    except ConventionError as error:
        assert "overrides.yaml" in str(error) or "two arguments" in str(error)
        return
    assert all(TOOL_NAME.match(name) for name in tools)
    assert len(tools) == sum(len(item) for item in s.paths.values())
    for tool in tools.values():
        assert_client_safe(tool.input_schema)
        assert sorted(tool.path_arguments.values()) == sorted(re.findall(r"\{([^}]+)\}", tool.path))


def test_a_duplicate_operation_id_is_named_per_path_or_reported(tmp_path):
    from stripe_mcp.codegen.loader import SpecError

    s = Spec()
    thing = s.resource("thing")
    s.get("/v1/a", thing, operation_id="GetThing")
    s.get("/v1/b", thing, operation_id="GetThing")
    try:
        names = set(tools_of(s, tmp_path))
    except SpecError as error:
        assert "GetThing" in str(error)
    else:
        assert names == {"get_single_stripe_a_by_id", "get_single_stripe_b_by_id"}
