"""The admin API: integrated accounts, their MCP servers, API tokens. JSON in, JSON out, 4xx on bad input.

models.py holds what it accepts and answers (the console validates with the same models), openapi.py the
document built from them, routes.py the endpoints.
"""
