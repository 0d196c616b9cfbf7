"""The reference field-service application: a small Flask app of its own, served by
``flask --app app exchange peer field-service --port N`` in its own process, used by
the tests, the benchmark and the demo.

It serves the API of ``exchanges.md`` (kind 1): ``GET /v1/ping``; the five ``PUT``
upserts, keeping what they receive by ``externalId`` and answering
``{"upserted": n}``; ``GET /v1/interventions`` paged, filtered by ``status`` and
``validatedSince``; the report PDF of every intervention at its ``reportUrl``. The
API key (``--api-key``) is checked on every ``/v1`` and report call.

Tests drive it through endpoints outside the API (no key, no misbehaviour):
``GET /_received`` (what it was sent, and the calls it answered), ``POST
/_interventions`` (replace the interventions), ``POST /_control`` (misbehave:
``delay`` seconds, ``hold`` until released, ``status`` 500/401/429 for the next ``times`` calls or for ever,
``retry_after``, ``invalid_json``, ``ignore_status``, ``page_size``, ``only`` a path
prefix), ``POST /_reset``.
"""
import json
import threading
import time
from datetime import datetime, timezone

from flask import Flask, Response, jsonify, request

ENDPOINTS = ("customers", "sites", "contracts", "technicians", "items")
DEFAULT_PAGE_SIZE = 50
DEFAULT_CONTROL = {"delay": 0.0, "hold": False, "status": None, "times": None, "retry_after": 1, "invalid_json": False,
                   "ignore_status": False, "page_size": DEFAULT_PAGE_SIZE, "only": ""}


def _instant(text):
    if not text:
        return None
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def report_pdf(intervention_id: str) -> bytes:
    """A one-page PDF naming the intervention (valid enough for any reader)."""
    text = f"Rapport d'intervention {intervention_id}".encode("latin-1", "replace")
    stream = b"BT /F1 14 Tf 72 760 Td (" + text.replace(b"(", b"[").replace(b")", b"]") + b") Tj ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def load_interventions(path: str | None) -> list:
    if not path:
        return []
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return list(data.get("interventions") or data.get("items") or []) if isinstance(data, dict) else list(data)


def create_peer(interventions=None, api_key: str = "") -> Flask:
    peer = Flask("field_service_peer")
    lock = threading.Lock()
    state = {"received": {name: {} for name in ENDPOINTS}, "calls": [], "interventions": list(interventions or []),
             "control": dict(DEFAULT_CONTROL)}

    def misbehaviour():
        """The answer the control asks for instead of the real one, or None."""
        control = state["control"]
        if control["only"] and not request.path.startswith(control["only"]):
            return None
        if control["delay"]:
            time.sleep(float(control["delay"]))
        while control["hold"] and state["control"] is control:  # held until released (or reset)
            time.sleep(0.02)
        status = control["status"]
        if status:
            with lock:
                if control["times"] is not None:
                    if control["times"] <= 0:
                        control["status"] = status = None
                    else:
                        control["times"] -= 1
            if status:
                headers = {"Retry-After": str(control["retry_after"])} if status == 429 else {}
                return Response(json.dumps({"error": f"HTTP {status}"}), status=status, headers=headers,
                                mimetype="application/json")
        if control["invalid_json"]:
            return Response("<html>oops</html>", status=200, mimetype="application/json")
        return None

    @peer.before_request
    def guard():
        if request.path.startswith("/_"):
            return None
        with lock:
            state["calls"].append({"method": request.method, "path": request.path, "args": dict(request.args)})
        answer = misbehaviour()
        if answer is not None:
            return answer
        if api_key and request.headers.get("X-Api-Key") != api_key:
            return jsonify({"error": "invalid API key"}), 401
        return None

    @peer.get("/v1/ping")
    def ping():
        return jsonify({"ok": True, "application": "Passerelle reference field-service peer"})

    def upsert(name):
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            return jsonify({"error": 'expected {"items": [...]}'}), 400
        with lock:
            for item in body["items"]:
                if isinstance(item, dict) and item.get("externalId"):
                    state["received"][name][str(item["externalId"])] = item
        return jsonify({"upserted": len(body["items"])})

    for name in ENDPOINTS:
        peer.add_url_rule(f"/v1/{name}", f"put_{name}", lambda name=name: upsert(name), methods=["PUT"])

    def with_report_url(intervention: dict) -> dict:
        url = intervention.get("reportUrl")
        if not url or "{base}" in str(url):
            intervention = {**intervention, "reportUrl": (str(url) if url else "{base}/reports/"
                                                          + f"{intervention.get('id')}.pdf").replace(
                "{base}", request.host_url.rstrip("/"))}
        return intervention

    @peer.get("/v1/interventions")
    def interventions():
        control = state["control"]
        rows = list(state["interventions"])
        status = request.args.get("status")
        if status and not control["ignore_status"]:
            rows = [row for row in rows if row.get("status") == status]
        since = _instant(request.args.get("validatedSince"))
        if request.args.get("validatedSince") and since is None:
            return jsonify({"error": "validatedSince is not ISO-8601"}), 400
        if since is not None:
            rows = [row for row in rows if (_instant(row.get("validatedAt")) or since) >= since]
        rows.sort(key=lambda row: (str(row.get("validatedAt") or ""), str(row.get("id"))))
        size = max(1, int(control["page_size"]))
        pages = max(1, -(-len(rows) // size))
        page = request.args.get("page", 1, type=int) or 1
        chunk = rows[(page - 1) * size:page * size] if page >= 1 else []
        return jsonify({"items": [with_report_url(row) for row in chunk], "page": page, "pages": pages})

    @peer.get("/reports/<intervention_id>.pdf")
    def report(intervention_id):
        if not any(str(row.get("id")) == intervention_id for row in state["interventions"]):
            return jsonify({"error": "unknown intervention"}), 404
        return Response(report_pdf(intervention_id), mimetype="application/pdf")

    @peer.get("/_received")
    def received():
        with lock:
            return jsonify({"received": {name: list(rows.values()) for name, rows in state["received"].items()},
                            "calls": state["calls"]})

    @peer.post("/_interventions")
    def replace_interventions():
        body = request.get_json(silent=True) or {}
        with lock:
            state["interventions"] = list(body.get("interventions") or [])
        return jsonify({"interventions": len(state["interventions"])})

    @peer.post("/_control")
    def control():
        body = request.get_json(silent=True) or {}
        with lock:
            for name, value in body.items():
                if name in DEFAULT_CONTROL:
                    state["control"][name] = value
        return jsonify(state["control"])

    @peer.post("/_reset")
    def reset():
        with lock:
            state["received"] = {name: {} for name in ENDPOINTS}
            state["calls"] = []
            state["control"] = dict(DEFAULT_CONTROL)
        return jsonify({"reset": True})

    return peer


def serve(port: int, host: str = "127.0.0.1", data: str | None = None, api_key: str = "") -> None:
    """Serve the peer until the process is stopped (threaded: a slow answer blocks no other)."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, code="-", size="-"):
            pass

    server = make_server(host, port, create_peer(load_interventions(data), api_key), threaded=True,
                         request_handler=Quiet)
    print(f"field-service peer on http://{host}:{server.server_port}", flush=True)
    server.serve_forever()
