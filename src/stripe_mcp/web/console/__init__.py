"""The admin console: server-rendered pages at /admin for people who will never call an API.

- Every change goes through stripe_mcp.managed.service, exactly as the admin API does (and validates input with
  the admin API's own pydantic models).
- Sessions are signed cookies (itsdangerous) whose key is derived from the encryption key, so every
  replica verifies them; HttpOnly, SameSite=Strict, Path=/admin, 8 hours at most. A session is bound
  to the credential that opened it: changing STRIPE_MCP_ADMIN_TOKEN ends its sessions.
- Every POST must come from this origin (Origin, else Referer) and carry the session's CSRF token.
- Pages work without JavaScript; two small inline scripts (with a CSP nonce) add copy buttons and a
  live tool count. Jinja2 is imported on the first page only, so an MCP-only process never loads it.

routes.py holds the routes and the checks every page passes; sessions.py, forms.py and rendering.py what
pages share; sign_in.py, accounts.py, servers.py and tool_browser.py the pages; templates/ and static/
what they are made from.
"""
