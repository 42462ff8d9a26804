"""The built-in OAuth 2.1 authorization server of `auth: "oauth"` MCP servers, without HTTP.

- `clients`: Dynamic Client Registration (RFC 7591), clients known by a Client ID Metadata Document
  (`documents` fetches those), and client authentication at the token endpoint;
- `grants`: consent requests, authorization codes with PKCE (S256), access and refresh tokens bound to one
  server's URL (RFC 8707), rotation with reuse detection, revocation, and the connected clients of a server;
- `urls`: the rules for redirect URIs and resource indicators.

web/oauth/ serves it over HTTP; the console asks the person for consent. What `serve` needs at start (its
settings) is here, so that start-up loads none of the rest.
"""

from enum import StrEnum

SCOPE = "mcp"
"""What a token may do: call its server's tools, within the server's filters. The only scope there is."""


class DocumentPolicy(StrEnum):
    """Which Client ID Metadata Documents `documents` fetches."""

    PUBLIC = "public"  # https, and only hosts whose every address is public (the default)
    PRIVATE = "private"  # also private and loopback addresses, and plain http: private networks and tests
    OFF = "off"  # no documents: clients register (RFC 7591) instead
