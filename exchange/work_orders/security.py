"""The webhook's proofs (quality.md S12): the inbound token and the ``X-Signature``,
both compared in constant time.

``X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``; the
connector's ``signing_secret`` holds one secret, or two separated by a comma while
a secret is being rotated (either signs). A signature older (or further in the
future) than the window is refused, so a captured request cannot be replayed later.
"""
import hashlib
import hmac
import time


def token_ok(expected: str | None, given: str | None) -> bool:
    if not expected or given is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "replace"))


def signing_secrets(text: str | None) -> list[str]:
    return [secret.strip() for secret in (text or "").split(",") if secret.strip()]


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """What a sender puts in ``X-Signature`` (the reference sender and the tests)."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def parse_header(header: str | None) -> tuple[str | None, list[str]]:
    """``(t, [v1 …])`` of an ``X-Signature`` header (several ``v1`` are allowed)."""
    timestamp, values = None, []
    for part in (header or "").split(","):
        name, _sep, value = part.strip().partition("=")
        if name == "t":
            timestamp = value.strip()
        elif name == "v1":
            values.append(value.strip().lower())
    return timestamp, values


def signature_ok(secrets_text: str | None, header: str | None, body: bytes, window_seconds: float,
                 now: float | None = None) -> bool:
    secrets = signing_secrets(secrets_text)
    timestamp, values = parse_header(header)
    if not secrets or not values or timestamp is None or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > window_seconds:
        return False
    matched = False
    for secret in secrets:  # every comparison runs: the time taken tells nothing
        expected = signature(secret, timestamp, body).encode("ascii")
        for value in values:
            matched |= hmac.compare_digest(expected, value.encode("ascii", "replace"))
    return matched
