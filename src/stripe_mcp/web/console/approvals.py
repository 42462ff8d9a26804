"""The approvals pages: what waits for a person's decision, across accounts, with approve and deny forms.

Each approval shows the same sentence the agent's client would have asked (tools/questions.py); a decision
goes through managed.approvals, as the admin API's does, and records who made it: the admin token's
session, or the API token the console was signed in with.
"""

from __future__ import annotations

import logging

from starlette.responses import Response

from stripe_mcp.managed import approvals
from stripe_mcp.web.console.page import Page
from stripe_mcp.web.console.rendering import see_other
from stripe_mcp.web.console.urls import APPROVALS

log = logging.getLogger("stripe_mcp.console")


async def pending(page: Page) -> Response:
    runtime = page.runtime
    now = runtime.clock()
    groups = []
    for account in await runtime.store.list_accounts():
        waiting = await approvals.pending_approvals(runtime.store, account.id, now)
        if waiting:
            names = {s.id: s.name for s in await runtime.store.list_servers(account.id)}
            groups.append({"account": account, "approvals": [item.approval for item in waiting], "servers": names})
    return page.render("approvals.html", groups=groups, now=now, crumbs=[("Approvals", APPROVALS)])


async def approve(page: Page) -> Response:
    return await _decide(page, approve=True)


async def deny(page: Page) -> Response:
    return await _decide(page, approve=False)


async def _decide(page: Page, *, approve: bool) -> Response:
    runtime = page.runtime
    try:
        decided = await approvals.decide(
            runtime.store, page.path_id("approval_id"), approve=approve, who=await _who(page), now=runtime.clock()
        )
    except approvals.DecisionError as error:
        return page.render("message.html", error.status, title="Not decided", message=f"This {error.message}.")
    log.info("console: approval decided", extra={"approval_id": decided.id, "outcome": decided.status})
    return see_other(f"{APPROVALS}?notice=approval-{decided.status}")


async def _who(page: Page) -> str:
    """Who decides, as the record keeps it: never a token, only what identifies it."""
    session = page.session
    assert session is not None  # these pages need a signed-in session
    if session.who == "api-token":
        record = await page.runtime.store.api_token_by_hash(session.proof)
        return f"console: API token {record.id if record else '(revoked)'}"
    return f"console: admin token (session {session.sid[:8]})"
