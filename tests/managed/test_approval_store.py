"""Approvals in the store, on both backends: added once, changed only by compare-and-set, gone with their account.

The compare-and-set is what keeps two replicas from both running one approved call; the race below has
both try at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from stripe_mcp.managed.store.base import AccountRecord, Store
from stripe_mcp.tools.approvals import APPROVED, EXECUTING, PENDING, Approval


def approval(approval_id: str, account_id: str = "acct_1", created_at: float = 1000.0) -> Approval:
    return Approval(
        id=approval_id,
        account_id=account_id,
        server_id="srv_1",
        tool="create_a_stripe_refund",
        arguments={"charge": "ch_1", "amount": 1500, "metadata": {"why": "late delivery"}},
        question="Refund 15.00 USD of charge ch_1 in TEST mode?",
        livemode=False,
        asked_via="console",
        status=PENDING,
        created_at=created_at,
        expires_at=created_at + 900,
    )


async def with_account(store: Store, account_id: str = "acct_1") -> None:
    await store.add_account(AccountRecord(account_id, account_id, b"ciphertext", "sk_test_...4242", 1.0))


async def test_an_approval_is_added_once_and_read_back_whole(store: Store) -> None:
    await with_account(store)
    first = approval("apr_1")
    assert await store.add_approval(first) is True
    assert await store.add_approval(replace(first, question="another")) is False  # the id exists: nothing changes
    assert await store.get_approval("apr_1") == first
    assert await store.get_approval("apr_missing") is None


async def test_changes_are_compare_and_set_on_the_revision(store: Store) -> None:
    await with_account(store)
    first = approval("apr_1")
    await store.add_approval(first)
    approved = replace(first, status=APPROVED, decided_by="admin API (admin token)", revision=1)
    assert await store.replace_approval(approved) is True
    assert await store.replace_approval(replace(first, status="denied", revision=1)) is False  # stale: from revision 0
    assert await store.replace_approval(replace(approved, revision=5)) is False  # not the next revision
    assert await store.get_approval("apr_1") == approved
    assert await store.replace_approval(replace(approval("apr_never"), revision=1)) is False


async def test_two_claims_at_once_one_wins(store: Store) -> None:
    await with_account(store)
    first = replace(approval("apr_1"), status=APPROVED, revision=1)
    await store.add_approval(first)
    claims = [replace(first, status=EXECUTING, claimed_at=float(n), revision=2) for n in range(8)]
    won = await asyncio.gather(*(store.replace_approval(claim) for claim in claims))
    assert sorted(won) == [False] * 7 + [True]
    stored = await store.get_approval("apr_1")
    assert stored is not None and stored.status == EXECUTING and stored.claimed_at == float(won.index(True))


async def test_listed_newest_first_per_account_and_deleted_with_it(store: Store) -> None:
    await with_account(store, "acct_1")
    await with_account(store, "acct_2")
    for n, account_id in enumerate(["acct_1", "acct_2", "acct_1", "acct_1"]):
        await store.add_approval(approval(f"apr_{n}", account_id, created_at=1000.0 + n))
    assert [a.id for a in await store.list_approvals("acct_1")] == ["apr_3", "apr_2", "apr_0"]
    assert [a.id for a in await store.list_approvals("acct_2")] == ["apr_1"]
    assert await store.delete_account("acct_1") is True
    assert await store.list_approvals("acct_1") == []
    assert await store.get_approval("apr_0") is None
    assert await store.get_approval("apr_1") is not None
