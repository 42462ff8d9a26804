"""Whether the encryption key opens a store's Stripe keys, checked before anything is served or changed.

When it does not, the refusal names the store, the key file, the keys by id (a fingerprint, never the
key) and the ways out, so that a person who exported a new STRIPE_MCP_ENCRYPTION_KEY over a store the
key file wrote can go on at once. The id of the key that wrote a store is kept in the store's settings.
"""

from __future__ import annotations

import os
from pathlib import Path

from stripe_mcp.managed.secrets import ENCRYPTION_KEY_ENV, KeyBox, MissingEncryptionKey, key_file_path
from stripe_mcp.managed.store import sqlite_path, store_label
from stripe_mcp.managed.store.base import Store

KEY_ID_SETTING = "encryption-key-id"
NEW_KEY_COMMAND = "python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"


async def check_store_keys(store: Store, store_url: str, keys: KeyBox | None) -> None:
    """Nothing when `keys` can open what `store` holds (recording its key id); else MissingEncryptionKey."""
    where = store_label(store_url)
    if keys is None and sqlite_path(store_url) is None:
        raise MissingEncryptionKey(
            f"the store {where} needs {ENCRYPTION_KEY_ENV}, the same key on every replica (it has no key file). "
            f"Make one with: {NEW_KEY_COMMAND}; refusing to start"
        )
    accounts = await store.list_accounts()
    if not accounts:
        return
    written_with = await store.stored_setting(KEY_ID_SETTING)
    if keys is None:
        raise MissingEncryptionKey(
            f"the store {where} holds Stripe keys encrypted with {_key(written_with)}, but {ENCRYPTION_KEY_ENV} "
            "is not set: set it to that key; refusing to start"
        )
    if keys.opens(accounts[0].encrypted_key):
        await record_key_id(store, keys)
        return
    raise MissingEncryptionKey(_mismatch(store_url, where, written_with, keys, accounts[0].encrypted_key))


async def record_key_id(store: Store, keys: KeyBox) -> None:
    """Remember which key writes this store's Stripe keys (the first one to write stays)."""
    await store.setting(KEY_ID_SETTING, keys.key_id)


def _key(key_id: str | None) -> str:
    return f"key id {key_id}" if key_id else "another key (its id was not recorded)"


def _mismatch(store_url: str, where: str, written_with: str | None, keys: KeyBox, sample: bytes) -> str:
    key_file = key_file_path(store_url)
    from_environment = bool(os.environ.get(ENCRYPTION_KEY_ENV))
    used = (
        f"{ENCRYPTION_KEY_ENV} is key id {keys.key_id}"
        if from_environment
        else (f"its key file {_path(key_file)} holds key id {keys.key_id}")
    )
    lines = [f"the Stripe keys in the store {where} were encrypted with {_key(written_with)}, and {used}."]
    file_keys = _key_file_keys(key_file) if from_environment else None
    if key_file is not None and file_keys is not None and file_keys.opens(sample):
        lines += [
            f"The key file {_path(key_file)} holds key id {file_keys.key_id}, which opens them. Ways out:",
            f"  - unset {ENCRYPTION_KEY_ENV}: the key file is used;",
            f"  - or set {ENCRYPTION_KEY_ENV} to the key file's key: "
            f"export {ENCRYPTION_KEY_ENV}=$(cat {_path(key_file)});",
        ]
    else:
        lines += [
            "Ways out:",
            f"  - set {ENCRYPTION_KEY_ENV} to the key the store was written with;",
        ]
    other = "sqlite:///OTHER/store.sqlite3" if key_file is not None else "redis://HOST:PORT/OTHER_DB"
    lines.append(f"  - or start with a new, empty store elsewhere: --store {other}.")
    return "\n".join(lines)


def _key_file_keys(key_file: Path | None) -> KeyBox | None:
    if key_file is None or not key_file.exists():
        return None
    try:
        return KeyBox(key_file.read_bytes().strip())
    except (OSError, ValueError):
        return None


def _path(path: Path | None) -> str:
    return str(path.resolve()) if path is not None else ""
