"""The reference work-order application, for the demo and the tests (a process of its
own: ``flask --app app exchange peer work-orders …``).

- ``post_work_order``: posts a work order read from a JSON file to the webhook, with
  the inbound token and, given the secret, the ``X-Signature`` of exactly the bytes
  sent — what the real application does.
- ``serve_inventory``: answers ``PUT /v1/inventory`` as the application does (API key
  checked, at most 2,500 products per account, ``{"upserted": n}``) and keeps what it
  received, in memory and in a JSON file when given one; ``GET /v1/inventory`` shows it
  (with the number of calls received), ``GET /v1/ping`` answers ``{"ok": true}``,
  ``DELETE /v1/inventory`` empties the account (the tests).
"""
import hmac
import json
import os
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from exchange.work_orders.security import signature_header

PRODUCT_LIMIT = 2500


def post_work_order(path: str, url: str, token: str, secret: str | None = None, timeout: float = 60):
    """``(status, answer text)`` of posting the work order of file ``path`` to ``url``."""
    body = Path(path).read_bytes()
    headers = {"Content-Type": "application/json", "X-Api-Key": token}
    if secret:
        headers["X-Signature"] = signature_header(secret, body)
    response = requests.post(url, data=body, headers=headers, timeout=timeout)
    return response.status_code, response.text


class Inventory:
    def __init__(self, store: str | None = None):
        self.items: dict[str, dict] = {}
        self.calls = 0
        self.store = Path(store) if store else None
        self.lock = threading.Lock()

    def upsert(self, items: list[dict]) -> int:
        with self.lock:
            merged = dict(self.items)
            for item in items:
                merged[str(item.get("code"))] = item
            if len(merged) > PRODUCT_LIMIT:
                raise ValueError(f"more than {PRODUCT_LIMIT} products")
            self.items, self.calls = merged, self.calls + 1
            self._save()
            return len(items)

    def clear(self) -> None:
        with self.lock:
            self.items, self.calls = {}, 0
            self._save()

    def snapshot(self) -> dict:
        with self.lock:
            return {"items": list(self.items.values()), "calls": self.calls}

    def _save(self) -> None:
        if self.store is None:
            return
        handle, temporary = tempfile.mkstemp(dir=self.store.parent, prefix=".inventory-", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump({"items": list(self.items.values()), "calls": self.calls}, out, ensure_ascii=False)
        os.replace(temporary, self.store)


def make_server(port: int, api_key: str = "", store: str | None = None, host: str = "127.0.0.1"):
    inventory = Inventory(store)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet: the tests read stdout
            pass

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            if api_key and not hmac.compare_digest(self.headers.get("X-Api-Key", "").encode(), api_key.encode()):
                self._answer(401, {"error": "bad API key"})
                return False
            return True

        def do_GET(self):
            if not self._authorised():
                return
            if self.path.startswith("/v1/ping"):
                return self._answer(200, {"ok": True})
            if self.path.startswith("/v1/inventory"):
                return self._answer(200, inventory.snapshot())
            self._answer(404, {"error": "not found"})

        def do_DELETE(self):  # the tests start each case from an empty account
            if not self._authorised():
                return
            inventory.clear()
            self._answer(200, {"deleted": True})

        def do_PUT(self):
            if not self._authorised():
                return
            if not self.path.startswith("/v1/inventory"):
                return self._answer(404, {"error": "not found"})
            length = int(self.headers.get("Content-Length") or 0)
            try:
                items = json.loads(self.rfile.read(length) or b"{}")["items"]
                assert isinstance(items, list)
            except (ValueError, KeyError, TypeError, AssertionError):
                return self._answer(400, {"error": "expected {\"items\": [...]}"})
            try:
                count = inventory.upsert(items)
            except ValueError as refused:
                return self._answer(422, {"error": str(refused)})
            self._answer(200, {"upserted": count})

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server, inventory
