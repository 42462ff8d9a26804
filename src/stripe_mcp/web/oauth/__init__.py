"""The OAuth endpoints over HTTP: metadata (RFC 9728, RFC 8414), registration, authorization, tokens, revocation.

The logic is managed/oauth/; the consent page is the console's (web/console/consent.py).
"""
