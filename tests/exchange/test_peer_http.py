"""``Peer.start_put``: a send's PUT begun, its answer read later, on a connection of its
own (``http.client``) kept alive while the peer allows it; through a proxy or with
credentials in the URL the call is left to ``requests``; a redirection is never
followed; a peer that hangs up, is too slow, answers early or 429 ends as
``Peer.call`` ends; a key or a path no request can carry fails without saying them. A small HTTP/1.1 server in a thread plays the
peer (the reference peer closes every connection)."""
import json
import logging
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from exchange.base import RunFailed
from exchange.http import Peer, _direct_of, _dropped

from fs_peer import free_port


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # connections kept alive unless the answer says otherwise

    def log_message(self, *args):
        pass

    def do_PUT(self):
        server = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server.calls.append((self.path, self.headers.get("X-Api-Key"), self.headers.get("Content-Type"), body))
        behaviour = server.behaviours.pop(0) if server.behaviours else "ok"
        if behaviour == "hang_up":
            self.close_connection = True
            return
        if behaviour == "slow":
            time.sleep(0.5)
        if behaviour.startswith("redirect"):
            self._answer(307, b"", {"Location": behaviour.split(" ", 1)[1]})
            return
        if behaviour == "429":
            self._answer(429, b'{"error": "slow down"}', {"Retry-After": "0"})
            return
        self._answer(200, json.dumps({"upserted": len(json.loads(body)["items"])}).encode())
        if behaviour == "close_after":  # closed without saying so: the next call finds it dropped
            self.close_connection = True

    def do_GET(self):
        self.server.calls.append((self.path, self.headers.get("X-Api-Key"), None, b""))
        behaviour = self.server.behaviours.pop(0) if self.server.behaviours else "ok"
        if behaviour.startswith("redirect"):
            self._answer(307, b"", {"Location": behaviour.split(" ", 1)[1]})
            return
        self._answer(200, b"%PDF-1.7 report", {"Content-Type": "application/pdf"})

    def _answer(self, status, body, headers=None):
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.calls, self.behaviours, self.connections = [], [], 0

    def get_request(self):
        self.connections += 1
        return super().get_request()


def _serving():
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def server():
    yield from _serving()


@pytest.fixture
def peer(server, app_ctx, app, monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    saved = app.config["EXCHANGE_RETRY_AFTER_CAP_SECONDS"]
    app.config["EXCHANGE_RETRY_AFTER_CAP_SECONDS"] = 0.1
    peer = Peer(f"http://127.0.0.1:{server.server_port}/api", "cle", timeout=0.2)
    yield peer
    peer.close()
    app.config["EXCHANGE_RETRY_AFTER_CAP_SECONDS"] = saved


def _body(rows: int) -> bytes:
    return json.dumps({"items": [{"externalId": f"X{n}"} for n in range(rows)]}).encode()


def test_puts_go_one_after_the_other_on_one_connection_kept_alive(peer, server):
    first = peer.start_put("/v1/items", _body(2))
    assert first.result() == {"upserted": 2}
    second = peer.start_put("/v1/items", _body(3))
    assert second.result() == {"upserted": 3}
    assert server.connections == 1
    assert [(path, key, kind) for path, key, kind, _body_ in server.calls] == [
        ("/api/v1/items", "cle", "application/json")] * 2
    assert server.calls[1][3] == _body(3)


def test_a_connection_the_peer_closed_meanwhile_is_opened_again(peer, server):
    server.behaviours = ["close_after"]
    assert peer.start_put("/v1/items", _body(1)).result() == {"upserted": 1}
    time.sleep(0.1)  # the peer's close has arrived
    assert peer.start_put("/v1/items", _body(1)).result() == {"upserted": 1}
    assert server.connections == 2


def test_429_is_waited_out_and_the_batch_put_again(peer, server):
    server.behaviours = ["429", "429"]
    assert peer.start_put("/v1/items", _body(1)).result() == {"upserted": 1}
    assert len(server.calls) == 3


@pytest.fixture
def other():
    """Another address, where a redirection leads."""
    yield from _serving()


@pytest.mark.parametrize("credentials", ["", "moi:secret@"])  # the direct path, then that of requests
def test_a_redirect_fails_readably_and_nothing_goes_to_the_other_address(server, other, app_ctx, credentials):
    elsewhere = f"http://127.0.0.1:{other.server_port}"
    server.behaviours = [f"redirect {elsewhere}/moved"] * 3
    peer = Peer(f"http://{credentials}127.0.0.1:{server.server_port}/api", "cle", timeout=0.5)
    assert (_direct_of(peer) is None) == bool(credentials)
    with pytest.raises(RunFailed, match=f"redirige vers {elsewhere} : corrigez l'URL de base"):
        peer.start_put("/v1/items", _body(2)).result()
    peer.close()
    assert other.calls == [] and other.connections == 0   # no key, no batch
    assert len(server.calls) == 1   # put once, not again by a follower


def test_credentials_in_the_url_leave_the_call_to_requests(server, app_ctx):
    assert _direct_of(Peer(f"http://:secret@127.0.0.1:{server.server_port}", "cle")) is None


def test_a_path_that_is_not_ascii_is_quoted_as_requests_quotes_it(server, app_ctx):
    peer = Peer(f"http://127.0.0.1:{server.server_port}/térrain", "cle", timeout=0.5)
    assert peer.start_put("/v1/items", _body(1)).result() == {"upserted": 1}
    peer.close()
    assert server.calls[0][0] == "/t%C3%A9rrain/v1/items"


def test_a_key_no_header_can_carry_fails_without_saying_it(server, app_ctx, caplog):
    peer = Peer(f"http://127.0.0.1:{server.server_port}", "secret\r\nX-Other: 1", timeout=0.5)
    with caplog.at_level(logging.DEBUG), pytest.raises(RunFailed, match="ne peut pas partir") as failure:
        peer.start_put("/v1/items", _body(1)).result()
    peer.close()
    assert "secret" not in str(failure.value) and failure.value.__context__ is None
    assert "secret" not in caplog.text and server.calls == []


def test_a_peer_that_answers_before_reading_the_body_is_heard(app_ctx):
    """The peer answers 401 at the request's headers and closes (its unread body makes that
    a reset): the write breaks, the answer is read anyway."""
    listener = socket.create_server(("127.0.0.1", 0))
    answered = threading.Event()

    def answer_early():
        connection, _address = listener.accept()
        with connection:
            received = b""
            while b"\r\n\r\n" not in received:
                received += connection.recv(65536)
            connection.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            answered.set()
            time.sleep(0.2)

    thread = threading.Thread(target=answer_early, daemon=True)
    thread.start()
    peer = Peer(f"http://127.0.0.1:{listener.getsockname()[1]}", "cle", timeout=5)
    try:
        with pytest.raises(RunFailed, match="HTTP 401.*vérifiez la clé d'API"):
            peer.start_put("/v1/items", b"x" * (64 * 1024 * 1024)).result()
    finally:
        peer.close()
        thread.join(5)
        listener.close()
    assert answered.is_set()


def test_a_connection_dropped_is_seen_whatever_its_descriptor_number():
    """``select`` cannot look at a descriptor from 1024 on: a busy process has some."""
    mine, theirs = socket.socketpair()
    high = os.dup2(mine.fileno(), 1500)
    mine.close()
    connection = type("Connection", (), {})()
    connection.sock = socket.socket(fileno=high)
    try:
        assert connection.sock.fileno() >= 1024
        assert not _dropped(connection)
        theirs.close()
        assert _dropped(connection)
    finally:
        connection.sock.close()


def test_through_a_proxy_the_put_is_left_to_requests(server, app_ctx, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    peer = Peer(f"http://127.0.0.1:{server.server_port}", "cle", timeout=0.2)
    assert _direct_of(peer) is None
    with pytest.raises(RunFailed, match="injoignable"):
        peer.start_put("/v1/items", _body(1)).result()
    assert server.calls == []   # the proxy was asked, not the peer
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert _direct_of(Peer(f"http://127.0.0.1:{server.server_port}", "cle")) is not None


@pytest.mark.parametrize("behaviour, message", [("hang_up", "injoignable"), ("slow", "n'a pas répondu en 0 s")])
def test_a_peer_that_hangs_up_or_is_too_slow_fails_readably(peer, server, behaviour, message):
    server.behaviours = [behaviour]
    with pytest.raises(RunFailed, match=message) as failure:
        peer.start_put("/v1/items", _body(1)).result()
    assert "cle" not in str(failure.value)
    assert peer.start_put("/v1/items", _body(1)).result() == {"upserted": 1}   # the next call is fine


def test_a_refused_connection_fails_readably(app_ctx):
    peer = Peer(f"http://127.0.0.1:{free_port()}", "cle", timeout=0.2)
    with pytest.raises(RunFailed, match="injoignable"):
        peer.start_put("/v1/items", _body(1)).result()


def test_a_report_on_the_peers_address_redirecting_elsewhere_is_not_followed(peer, server, other):
    from exchange.base import ItemError
    from exchange.field_service.engine import _report_pdf
    own = f"http://127.0.0.1:{server.server_port}/api/reports/INT-1.pdf"
    assert _report_pdf(peer, own) == b"%PDF-1.7 report"
    server.behaviours = [f"redirect http://127.0.0.1:{other.server_port}/steal"]
    with pytest.raises(ItemError) as refused:
        _report_pdf(peer, own)
    assert "HTTP 307" in str(refused.value)
    assert other.calls == [] and other.connections == 0  # neither the key nor anything else went there
