"""Small OpenAPI 3 documents shaped like Stripe's, built in Python for the code generator's tests.

`Spec` collects component schemas and operations and writes a JSON document; `tools_of` runs the
real loader and Stripe conventions on it. Responses follow Stripe's shapes: objects carry
`x-resourceId` and `x-expandableFields`; lists are `{object: "list", data: [...], has_more, url}`
and searches `{object: "search_result", ...}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
API_VERSION = "2099-01-01"


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def string(**extra: Any) -> dict[str, Any]:
    return {"type": "string", "maxLength": 5000, **extra}


def unsettable(schema: dict[str, Any]) -> dict[str, Any]:
    """Stripe's idiom for a field that an empty string unsets."""
    return {"anyOf": [schema, {"type": "string", "enum": [""]}]}


def metadata() -> dict[str, Any]:
    return unsettable({"type": "object", "additionalProperties": {"type": "string"}})


def placeholders(path: str) -> list[str]:
    return re.findall(r"\{([^}]+)\}", path)


def path_parameter(name: str) -> dict[str, Any]:
    return {"in": "path", "name": name, "required": True, "schema": string(), "style": "simple"}


def query_parameter(
    name: str, schema: dict[str, Any] | None = None, required: bool = False, description: str = ""
) -> dict[str, Any]:
    parameter = {"in": "query", "name": name, "required": required, "schema": schema or string()}
    if description:
        parameter["description"] = description
    return parameter


EXPAND = query_parameter(
    "expand",
    {"type": "array", "items": string()},
    description="Specifies which fields in the response should be expanded.",
)
LIMIT = query_parameter("limit", {"type": "integer"}, description="A limit on the number of objects to be returned.")
CURSORS = [
    query_parameter("starting_after", description="A cursor for use in pagination."),
    query_parameter("ending_before", description="A cursor for use in pagination."),
]


def form_body(properties: dict[str, Any], required: Iterable[str] = (), media_type: str = FORM) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return {"content": {media_type: {"schema": schema}}, "required": bool(required)}


def list_of(item: dict[str, Any], kind: str = "list") -> dict[str, Any]:
    return {
        "type": "object",
        "title": f"{kind.title()}Of",
        "properties": {
            "object": {"type": "string", "enum": [kind]},
            "data": {"type": "array", "items": item},
            "has_more": {"type": "boolean"},
            "url": string(),
        },
        "required": ["object", "data", "has_more", "url"],
    }


def operation_id_of(method: str, path: str) -> str:
    """Stripe-like and unique per (method, path): GET /v1/customers/{customer} -> GetV1CustomersCustomer."""
    parts = [p.strip("{}") for p in path.split("/") if p]
    return method.title() + "".join(p[:1].upper() + p[1:] for p in parts)


class Spec:
    """An OpenAPI 3.0 document under construction."""

    def __init__(self, title: str = "Stripe API (test fragment)", version: str = API_VERSION) -> None:
        self.title = title
        self.version = version
        self.schemas: dict[str, Any] = {
            "error": {"type": "object", "properties": {"error": {"type": "object"}}, "x-resourceId": "error"},
        }
        self.paths: dict[str, dict[str, Any]] = {}

    # Components ---------------------------------------------------------------------------------

    def resource(
        self, resource_id: str, expandable: Iterable[str] = (), properties: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A component schema for a Stripe object; returns a $ref to it."""
        props = {"id": string(), "object": {"type": "string", "enum": [resource_id]}}
        for name in expandable:
            # Stripe marks an id that expands into its object with x-expansionResources.
            props[name] = {
                "anyOf": [string(), {"type": "object"}],
                "x-expansionResources": {"oneOf": [{"type": "object"}]},
            }
        props.update(properties or {})
        self.schemas[resource_id] = {
            "type": "object",
            "title": resource_id.title(),
            "description": f"The {resource_id} object.",
            "properties": props,
            "required": ["id", "object"],
            "x-resourceId": resource_id,
            "x-expandableFields": list(expandable),
        }
        return ref(resource_id)

    def schema(self, name: str, schema: dict[str, Any]) -> dict[str, Any]:
        self.schemas[name] = schema
        return ref(name)

    # Operations ---------------------------------------------------------------------------------

    def operation(
        self,
        method: str,
        path: str,
        returns: dict[str, Any] | None,
        parameters: Iterable[dict[str, Any]] = (),
        body: dict[str, Any] | None = None,
        description: str = "",
        operation_id: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Add one operation; path parameters for the placeholders are added unless given."""
        parameters = list(parameters)
        given = {p["name"] for p in parameters if p.get("in") == "path"}
        parameters = [path_parameter(n) for n in placeholders(path) if n not in given] + parameters
        responses: dict[str, Any] = {
            "default": {"description": "Error", "content": {"application/json": {"schema": ref("error")}}}
        }
        if returns is not None:
            responses["200"] = {
                "description": "Successful response.",
                "content": {"application/json": {"schema": returns}},
            }
        raw: dict[str, Any] = {
            "operationId": operation_id or operation_id_of(method, path),
            "description": description,
            "parameters": parameters,
            "responses": responses,
            **extra,
        }
        if body is not None:
            raw["requestBody"] = body
        self.paths.setdefault(path, {})[method.lower()] = raw
        return raw

    def get(
        self, path: str, returns: dict[str, Any], parameters: Iterable[dict[str, Any]] = (EXPAND,), **kw: Any
    ) -> dict[str, Any]:
        return self.operation("get", path, returns, parameters, **kw)

    def post(self, path: str, returns: dict[str, Any], body: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        if body is None:
            body = form_body({"expand": {"type": "array", "items": string()}})
        return self.operation("post", path, returns, body=body, **kw)

    def delete(
        self, path: str, returns: dict[str, Any], body: dict[str, Any] | None = None, **kw: Any
    ) -> dict[str, Any]:
        return self.operation("delete", path, returns, body=body, **kw)

    def list(
        self, path: str, item: dict[str, Any], parameters: Iterable[dict[str, Any]] = (), cursor: bool = True, **kw: Any
    ) -> dict[str, Any]:
        """A Stripe list endpoint: limit, expand and (when `cursor`) starting_after/ending_before."""
        standard = [EXPAND, LIMIT] + (CURSORS if cursor else [])
        return self.operation("get", path, list_of(item), [*parameters, *standard], **kw)

    def search(self, path: str, item: dict[str, Any], **kw: Any) -> dict[str, Any]:
        parameters = [
            EXPAND,
            LIMIT,
            query_parameter("page", description="A cursor for pagination across multiple pages of results."),
            query_parameter("query", string(), required=True, description="The search query string."),
        ]
        return self.operation("get", path, list_of(item, "search_result"), parameters, **kw)

    # Output -------------------------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        return {
            "openapi": "3.0.0",
            "info": {"title": self.title, "version": self.version},
            "servers": [{"url": "https://api.stripe.com/"}],
            "paths": self.paths,
            "components": {"schemas": self.schemas},
        }

    def write(self, folder: Path, name: str = "spec.json") -> Path:
        path = Path(folder) / name
        path.write_text(json.dumps(self.document(), indent=1, sort_keys=True), encoding="utf-8")
        return path


def tools_of(spec: Spec | Path, folder: Path | None = None, overrides: Any = None, words: Any = None) -> dict[str, Any]:
    """Load a spec with the real loader and apply the Stripe conventions: tool name -> Tool.

    `words`: the description overrides (codegen/descriptions.yaml when None)."""
    from stripe_mcp.codegen.loader import load_api
    from stripe_mcp.codegen.stripe import build_tools

    path = spec.write(folder) if isinstance(spec, Spec) else spec
    return {tool.name: tool for tool in build_tools(load_api(path), overrides, words)}


def mini_stripe() -> Spec:
    """A few dozen operations with the shapes that matter to the naming and argument rules."""
    s = Spec()
    customer = s.resource("customer", expandable=["default_source", "subscriptions"])
    deleted_customer = s.resource("deleted_customer")
    subscription = s.resource("subscription", expandable=["customer", "latest_invoice"])
    charge = s.resource("charge", expandable=["customer", "balance_transaction"])
    refund = s.resource("refund", expandable=["charge", "payment_intent"])
    payment_intent = s.resource("payment_intent", expandable=["customer"])
    account = s.resource("account")
    login_link = s.resource("login_link")
    balance = s.resource("balance")
    balance_transaction = s.resource("customer_balance_transaction", expandable=["customer"])
    report_type = s.resource("reporting.report_type")
    invoice = s.resource("invoice", expandable=["customer"])
    file = s.resource("file", expandable=["links"])
    widget = s.resource("widget")
    node = s.schema(
        "tree_node",
        {
            "type": "object",
            "title": "tree_node",
            "properties": {"label": string(), "children": {"type": "array", "items": ref("tree_node")}},
        },
    )

    # Customers: the five standard kinds plus search.
    s.list(
        "/v1/customers",
        customer,
        [
            query_parameter(
                "email",
                string(maxLength=512),
                description="<p>A filter on the list, based on the object <code>email</code> field.</p>",
            )
        ],
        description="<p>Returns a list of your customers.</p>",
    )
    s.post(
        "/v1/customers",
        customer,
        form_body(
            {
                "email": string(title="email_param", description="Customer's email address."),
                "description": unsettable(string()),
                "metadata": metadata(),
                "address": unsettable(
                    {
                        "type": "object",
                        "title": "optional_fields_address",
                        "properties": {"city": string(), "line1": string()},
                        "required": ["line1"],
                        "additionalProperties": False,
                    }
                ),
                "preferences": {
                    "type": "object",
                    "properties": {"free": {"type": "object", "additionalProperties": True}},
                },
                "nickname": {"type": "string", "nullable": True},
                "note": string(description="<p>" + "A note about the customer, shown on invoices. " * 20 + "</p>"),
                "invoice_settings": {
                    "type": "object",
                    "properties": {
                        "footer": string(
                            description="<p>Default <strong>footer</strong> to be displayed on invoices for this customer. "
                            * 8
                            + "</p>"
                        ),
                    },
                },
                "tree": node,
                "expand": {"type": "array", "items": string()},
            }
        ),
        description="<p>Creates a new customer object.</p>",
    )
    s.search(
        "/v1/customers/search", customer, description="<p>Search for customers you&rsquo;ve previously created.</p>"
    )
    s.get("/v1/customers/{customer}", customer, description="<p>Retrieves a Customer object.</p>")
    s.post(
        "/v1/customers/{customer}",
        customer,
        form_body({"email": string(), "metadata": metadata()}),
        description="<p>Updates the customer.</p>",
    )
    s.delete("/v1/customers/{customer}", deleted_customer, description="<p>Permanently deletes a customer.</p>")
    s.list(
        "/v1/customers/{customer}/subscriptions", subscription, description="<p>Lists the customer's subscriptions.</p>"
    )
    s.get("/v1/customers/{customer}/balance_transactions/{transaction}", balance_transaction)

    # Subscriptions: DELETE with a form body (its fields go to the query).
    s.list("/v1/subscriptions", subscription)
    s.delete(
        "/v1/subscriptions/{subscription_exposed_id}",
        subscription,
        form_body(
            {
                "invoice_now": {"type": "boolean"},
                "prorate": {"type": "boolean"},
                "expand": {"type": "array", "items": string()},
            }
        ),
        description="<p>Cancels a customer's subscription immediately.</p>",
    )

    # Charges: a long HTML description and an action that returns its parent.
    long_text = "<p>Retrieves the details of a charge that has previously been created.</p>" + "".join(
        f'<p>Paragraph {i} says something about <a href="/docs/charges">charges</a> &amp; their <strong>details</strong>.</p>'
        for i in range(60)
    )
    s.list("/v1/charges", charge, [query_parameter("customer"), query_parameter("payment_intent")])
    s.get("/v1/charges/{charge}", charge, description=long_text)
    s.post(
        "/v1/charges/{charge}/capture",
        charge,
        form_body({"amount": {"type": "integer"}}),
        description="<p>Capture the payment of an existing, uncaptured charge.</p>",
    )

    # Refunds: a create that moves money.
    s.list("/v1/refunds", refund)
    s.post(
        "/v1/refunds",
        refund,
        form_body(
            {
                "amount": {"type": "integer"},
                "charge": string(),
                "payment_intent": string(),
                "metadata": metadata(),
                "expand": {"type": "array", "items": string()},
            }
        ),
        description="<p>Create a refund.</p>",
    )

    # Payment intents: a destructive action.
    s.list("/v1/payment_intents", payment_intent)
    s.get("/v1/payment_intents/{intent}", payment_intent)
    s.post("/v1/payment_intents/{intent}/cancel", payment_intent, description="<p>Cancels a PaymentIntent.</p>")

    # Accounts: the singleton /v1/account next to /v1/accounts/{account}; a create after an id.
    s.get("/v1/account", account, description="<p>Retrieves the details of an account.</p>")
    s.list("/v1/accounts", account)
    s.get("/v1/accounts/{account}", account)
    s.post(
        "/v1/accounts/{account}/login_links", login_link, form_body({"expand": {"type": "array", "items": string()}})
    )

    # The balance: a singleton with no id and nothing to expand.
    s.get("/v1/balance", balance, description="<p>Retrieves the current account balance.</p>")

    # A list without cursors; an action with no retrieve operation to compare with.
    s.list("/v1/reporting/report_types", report_type, cursor=False)
    s.post("/v1/invoices/{invoice}/pay", invoice, description="<p>Pay an invoice.</p>")

    # A multipart upload to another host; a resource in no known area.
    s.post(
        "/v1/files",
        file,
        form_body(
            {
                "file": {"type": "string", "format": "binary"},
                "purpose": {"type": "string", "enum": ["dispute_evidence", "identity_document"]},
            },
            required=["file", "purpose"],
            media_type=MULTIPART,
        ),
        servers=[{"url": "https://files.stripe.com/"}],
    )
    s.get("/v1/widgets/{widget}", widget)
    return s
