"""The admin API's OpenAPI 3.1 document, built from the same pydantic models that validate its requests."""

from __future__ import annotations

from typing import Any

from stripe_mcp.web.admin.models import (
    AccountIn,
    AccountOut,
    ApiTokenIn,
    ApiTokenInfo,
    ApiTokenOut,
    ApprovalOut,
    ErrorOut,
    OAuthClientOut,
    ServerIn,
    ServerOut,
)


def openapi_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    models = (
        AccountIn,
        AccountOut,
        ServerIn,
        ServerOut,
        ApiTokenIn,
        ApiTokenOut,
        ApiTokenInfo,
        ApprovalOut,
        OAuthClientOut,
        ErrorOut,
    )
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema

    def ref(name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}

    def listing(name: str) -> dict[str, Any]:
        return {"type": "object", "properties": {"data": {"type": "array", "items": ref(name)}}}

    def answer(status: str, name: str | None, description: str) -> dict[str, Any]:
        body = {"content": {"application/json": {"schema": ref(name)}}} if name else {}
        return {status: {"description": description, **body}}

    errors = {
        **answer("400", "ErrorOut", "Invalid input"),
        **answer("401", "ErrorOut", "Missing or wrong admin token"),
        **answer("403", "ErrorOut", "Admin API closed"),
        **answer("404", "ErrorOut", "Not found"),
        **answer("409", "ErrorOut", "Not pending any more (approvals)"),
        **answer("413", "ErrorOut", "Body too large"),
        **answer("415", "ErrorOut", "Not JSON"),
        **answer("503", "ErrorOut", "The store is unavailable"),
    }
    account_id = {"name": "account_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
    server_id = {"name": "server_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
    client_id = {
        "name": "client_id",
        "in": "query",
        "required": False,
        "description": "Only this client (its id may be a URL); without it, every client.",
        "schema": {"type": "string", "maxLength": 2000},
    }
    token_id = {"name": "token_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
    approval_id = {"name": "approval_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}

    def decision(operation: str, words: str) -> dict[str, Any]:
        return {
            "post": {
                "operationId": operation,
                "parameters": [approval_id],
                "responses": {**answer("200", "ApprovalOut", words), **errors},
            }
        }

    return {
        "openapi": "3.1.0",
        "info": {"title": "stripe-mcp admin API", "version": "1"},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"admin": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"admin": []}],
        "paths": {
            "/integrated-account": {
                "post": {
                    "operationId": "createIntegratedAccount",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": ref("AccountIn")}}},
                    "responses": {**answer("201", None, "Created: {id, name}"), **errors},
                },
                "get": {
                    "operationId": "listIntegratedAccounts",
                    "responses": {
                        "200": {
                            "description": "Accounts",
                            "content": {"application/json": {"schema": listing("AccountOut")}},
                        },
                        **errors,
                    },
                },
            },
            "/integrated-account/{account_id}": {
                "delete": {
                    "operationId": "deleteIntegratedAccount",
                    "parameters": [account_id],
                    "responses": {"204": {"description": "Deleted with its servers"}, **errors},
                },
            },
            "/integrated-account/{account_id}/mcp": {
                "post": {
                    "operationId": "createMcpServer",
                    "parameters": [account_id],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": ref("ServerIn")}}},
                    "responses": {**answer("201", "ServerOut", "Created; url holds the token, shown once"), **errors},
                },
                "get": {
                    "operationId": "listMcpServers",
                    "parameters": [account_id],
                    "responses": {
                        "200": {
                            "description": "Servers (never tokens)",
                            "content": {"application/json": {"schema": listing("ServerOut")}},
                        },
                        **errors,
                    },
                },
            },
            "/integrated-account/{account_id}/mcp/{server_id}": {
                "delete": {
                    "operationId": "revokeMcpServer",
                    "parameters": [account_id, server_id],
                    "responses": {"204": {"description": "Revoked at once"}, **errors},
                },
            },
            "/integrated-account/{account_id}/approvals": {
                "get": {
                    "operationId": "listApprovals",
                    "parameters": [account_id],
                    "responses": {
                        "200": {
                            "description": "Approvals, pending first",
                            "content": {"application/json": {"schema": listing("ApprovalOut")}},
                        },
                        **errors,
                    },
                },
            },
            "/approvals/{approval_id}/approve": decision("approveApproval", "Approved: the agent's next call runs it"),
            "/approvals/{approval_id}/deny": decision("denyApproval", "Denied: the call is refused"),
            "/integrated-account/{account_id}/mcp/{server_id}/oauth-clients": {
                "get": {
                    "operationId": "listOAuthClients",
                    "parameters": [account_id, server_id],
                    "responses": {
                        "200": {
                            "description": "The clients connected to an OAuth server",
                            "content": {"application/json": {"schema": listing("OAuthClientOut")}},
                        },
                        **errors,
                    },
                },
                "delete": {
                    "operationId": "revokeOAuthClients",
                    "parameters": [account_id, server_id, client_id],
                    "responses": {"204": {"description": "Disconnected, their tokens revoked at once"}, **errors},
                },
            },
            "/api-token": {
                "post": {
                    "operationId": "createApiToken",
                    "requestBody": {"required": False, "content": {"application/json": {"schema": ref("ApiTokenIn")}}},
                    "responses": {**answer("201", "ApiTokenOut", "Created; shown once"), **errors},
                },
                "get": {
                    "operationId": "listApiTokens",
                    "responses": {
                        "200": {
                            "description": "API tokens that hold (never the tokens themselves)",
                            "content": {"application/json": {"schema": listing("ApiTokenInfo")}},
                        },
                        **errors,
                    },
                },
            },
            "/api-token/{token_id}": {
                "delete": {
                    "operationId": "revokeApiToken",
                    "parameters": [token_id],
                    "responses": {"204": {"description": "Revoked: refused everywhere from now on"}, **errors},
                },
            },
        },
    }
