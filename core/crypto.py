"""Connector secrets (API keys, tokens) encrypted at rest with Fernet.

Keys come from ``PASSERELLE_ENCRYPTION_KEY``: one Fernet key, or several separated
by commas while keys are rotated (the first encrypts, every one decrypts:
``MultiFernet``; ``rotate`` re-encrypts a token with the first key). Without that
setting the key is derived from ``SECRET_KEY``: acceptable in development and tests
only, so a production instance (``PASSERELLE_ENV=production``) refuses to run
without an explicit key.
"""
import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class SecretsUnavailable(RuntimeError):
    """The secrets cannot be read: no key in production, or a key that does not match."""


def _keys() -> list[bytes]:
    configured = current_app.config.get("PASSERELLE_ENCRYPTION_KEY")
    if configured:
        return [key.strip().encode() for key in configured.split(",") if key.strip()]
    if current_app.config.get("PASSERELLE_PRODUCTION"):
        raise SecretsUnavailable("PASSERELLE_ENCRYPTION_KEY must be set in production")
    digest = hashlib.sha256(("passerelle-secrets:" + current_app.config["SECRET_KEY"]).encode()).digest()
    return [base64.urlsafe_b64encode(digest)]


def _cipher() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in _keys()])


def encrypt_secrets(values: dict[str, str]) -> str | None:
    """The secrets as one encrypted token (``None`` when there are none)."""
    values = {name: value for name, value in values.items() if value}
    if not values:
        return None
    return _cipher().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt_secrets(token: str | None) -> dict[str, str]:
    if not token:
        return {}
    try:
        return json.loads(_cipher().decrypt(token.encode()))
    except InvalidToken as error:
        raise SecretsUnavailable("the connector secrets cannot be decrypted with the configured keys") from error


def rotate(token: str | None) -> str | None:
    """``token`` re-encrypted with the current (first) key."""
    return _cipher().rotate(token.encode()).decode() if token else token
