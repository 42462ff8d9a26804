"""Tokens and keys: random tokens stored only as hashes, Stripe keys encrypted at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from stripe_mcp.managed.store import sqlite_path

TOKEN_BYTES = 32  # 256 random bits
ENCRYPTION_KEY_ENV = "STRIPE_MCP_ENCRYPTION_KEY"
KEY_ID_CHARS = 12


class MissingEncryptionKey(RuntimeError):
    pass


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(TOKEN_BYTES)}"


def token_hash(token: str) -> str:
    """Tokens carry 256 random bits, so one SHA-256 is enough to make the stored value useless."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def mask_key(key: str) -> str:
    """sk_test_...last4: enough to recognise a key, never enough to use it."""
    prefix = "_".join(key.split("_")[:2]) if key.count("_") >= 2 else "key"
    return f"{prefix}_...{key[-4:]}"


class KeyBox:
    """Encrypts Stripe keys with a key from the environment (or a local key file for the embedded store)."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self._key = key

    @classmethod
    def from_environment(cls, key_file: Path | None) -> KeyBox | None:
        value = os.environ.get(ENCRYPTION_KEY_ENV)
        if value:
            try:
                return cls(value.encode())
            except ValueError:
                raise MissingEncryptionKey(
                    f"{ENCRYPTION_KEY_ENV} is not a valid key (32 url-safe base64-encoded bytes)"
                ) from None
        if key_file is not None and key_file.exists():
            try:
                return cls(key_file.read_bytes().strip())
            except ValueError:
                raise MissingEncryptionKey(
                    f"the key file {key_file.resolve()} does not hold a valid key (32 url-safe base64-encoded bytes)"
                ) from None
        return None

    @classmethod
    def create_key_file(cls, key_file: Path) -> KeyBox:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
        return cls(key)

    @property
    def key_id(self) -> str:
        """A fingerprint that tells keys apart in messages: 48 bits of an HMAC, useless for finding the key."""
        return hmac.new(self._key, b"stripe-mcp encryption key id", hashlib.sha256).hexdigest()[:KEY_ID_CHARS]

    def opens(self, token: bytes) -> bool:
        """Whether this key decrypts `token`."""
        try:
            self._fernet.decrypt(token)
        except InvalidToken:
            return False
        return True

    def derive_token(self, prefix: str, label: str) -> str:
        """A token that only this encryption key can reproduce: lets `serve` print the same URL on every start."""
        digest = hmac.new(self._key, label.encode("utf-8"), hashlib.sha256).digest()
        return f"{prefix}_{base64.urlsafe_b64encode(digest).decode().rstrip('=')}"

    def encrypt(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken:
            raise MissingEncryptionKey("stored Stripe keys cannot be decrypted with this encryption key") from None


def encryption_keys(store_url: str) -> KeyBox | None:
    """From STRIPE_MCP_ENCRYPTION_KEY, else (embedded store only) from a key file beside it, made on first use."""
    key_file = key_file_path(store_url)
    keys = KeyBox.from_environment(key_file)
    if keys is None and key_file is not None:
        keys = KeyBox.create_key_file(key_file)
    return keys


def key_file_path(store_url: str) -> Path | None:
    """The embedded store's key file (beside its database); None for a store that has none (Redis)."""
    path = sqlite_path(store_url)
    return path.with_name(path.name + ".key") if path is not None else None
