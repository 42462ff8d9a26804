"""query_stripe: one call that pages through a list or search tool on the server and returns only the answer."""
