"""``POST /hooks/work-orders/<tenant code>/<connector code>``: the work-order webhook
(interfaces.md): no session, no login, no CSRF token — the proof is the connector's
inbound token in ``X-Api-Key`` and, when the connector has a signing secret, the
``X-Signature`` HMAC (``exchange.work_orders.security``, constant time).

In order: 404 for an unknown tenant, an unknown, disabled or foreign-kind connector
(one answer for all); 401 for a bad or missing token; 413 above
``WORK_ORDER_MAX_BYTES`` — refused by its ``Content-Length`` before anything is
read, and while reading when the length was not announced (the refusal, once the
token is right, is kept in a run's report); 401 for a bad, missing or stale
signature; then ``exchange.work_orders.webhook.deliver`` answers (201, 200, 422).
Bodies are JSON; field paths in English, messages in French (the run report's words).
"""
from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _

from core.extensions import csrf
from exchange.base import connector_secrets
from exchange.work_orders import security, webhook

blueprint = Blueprint("hooks", __name__)
CHUNK = 64 * 1024


def _error(status: int, message: str, field: str = ""):
    return jsonify({"errors": [{"field": field, "message": message}]}), status


def _too_large(limit: int) -> str:
    return _("The work order is too large: at most %(size)s MB.", size=limit // (1024 * 1024))


def _read_body(limit: int) -> bytes | None:
    """The raw body, or None once it exceeds ``limit`` bytes (the rest is not read)."""
    parts, size = [], 0
    stream = request.stream
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)


@blueprint.post("/hooks/work-orders/<tenant_code>/<connector_code>")
@csrf.exempt
def work_order(tenant_code: str, connector_code: str):
    connector = webhook.find_connector(tenant_code, connector_code)
    if connector is None:
        return _error(404, _("Unknown connector."))
    try:
        secrets = connector_secrets(connector)
    except Exception:  # noqa: BLE001 - secrets no longer readable (key changed): nothing can be checked
        current_app.logger.warning("connector %s: secrets cannot be decrypted", connector.id)
        secrets = {}
    if not security.token_ok(secrets.get("inbound_token"), request.headers.get("X-Api-Key")):
        return _error(401, _("Bad or missing token (X-Api-Key)."), "X-Api-Key")
    limit = int(current_app.config["WORK_ORDER_MAX_BYTES"])
    if request.content_length is not None and request.content_length > limit:
        webhook.deliver(connector, refusal=_too_large(limit))
        return _error(413, _too_large(limit))
    body = _read_body(limit)
    if body is None:
        webhook.deliver(connector, refusal=_too_large(limit))
        return _error(413, _too_large(limit))
    if secrets.get("signing_secret") and not security.signature_ok(
            secrets["signing_secret"], request.headers.get("X-Signature"), body,
            float(current_app.config["WORK_ORDER_SIGNATURE_MAX_AGE_SECONDS"])):
        return _error(401, _("Bad, missing or expired signature (X-Signature)."), "X-Signature")
    status, answer = webhook.deliver(connector, body)
    return jsonify(answer), status
