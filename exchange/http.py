"""The one HTTP client of the exchanges: every peer call goes through ``Peer``, so that
a dead or lying peer always ends the run the same way, with a readable message.

Timeouts, refused connections, HTTP 5xx and answers that are not JSON raise
``RunFailed`` (the run ends ``failed``, nothing integrated is lost, the next run
starts over); 401/403 says to check the API key; 429 is waited out as its
``Retry-After`` says, at most ``EXCHANGE_RETRY_AFTER_MAX_WAITS`` times and never
longer than ``EXCHANGE_RETRY_AFTER_CAP_SECONDS`` each, then the run fails. The API
key travels in ``X-Api-Key`` and never appears in a message or a log.

A send's batches go one after the other through ``start_put``: the request leaves
at once and its answer is read when the caller asks for it, so that the caller
makes the next batch while the peer reads this one, in one thread (a thread of
its own for the calls would wait for the interpreter's lock after every socket
read while the caller computes). That path speaks HTTP on a connection of its own
(``http.client``, kept alive when the peer allows it) with what ``requests`` would
use (the environment's CA bundle, the session's headers, the path quoted as it
quotes it); through a proxy and with credentials in the URL it leaves the call to
``requests``. A redirection (3xx) is never followed, on either path: it would carry
the key and the batch to whatever address it names; the run fails, asking to
correct the base URL.
"""
import http.client
import json
import logging
import os
import ssl
import time
from urllib.parse import urljoin, urlsplit

import requests
from flask import current_app
from flask_babel import gettext as _
from requests.utils import DEFAULT_CA_BUNDLE_PATH, requote_uri, select_proxy
from urllib3.util.wait import wait_for_read

from exchange.base import RunFailed

logger = logging.getLogger(__name__)


def _retry_after(response, cap: float) -> float:
    try:
        seconds = float(response.headers.get("Retry-After", "1"))
    except ValueError:  # an HTTP date or garbage: wait a little, not forever
        seconds = 1.0
    return max(0.0, min(seconds, cap))


class Peer:
    def __init__(self, base_url: str, api_key: str = "", timeout: float | None = None):
        config = current_app.config
        self.base_url = (base_url or "").rstrip("/")
        self.timeout = timeout or config["EXCHANGE_HTTP_TIMEOUT_SECONDS"]
        self.max_waits = config["EXCHANGE_RETRY_AFTER_MAX_WAITS"]
        self.wait_cap = config["EXCHANGE_RETRY_AFTER_CAP_SECONDS"]
        self.session = requests.Session()
        self.session.headers.update({"X-Api-Key": api_key or "", "Accept": "application/json"})

    def close(self) -> None:
        """Close the connections kept alive."""
        direct = getattr(self, "_direct", None)
        if direct is not None:
            direct.close()
        self.session.close()

    def get(self, path: str, params: dict | None = None):
        return self.call("GET", path, params=params)

    def put(self, path: str, body):
        return self.call("PUT", path, json=body)

    def put_encoded(self, path: str, data: bytes):
        """``put`` of a body already encoded as JSON (UTF-8)."""
        return self.call("PUT", path, data=data, headers=JSON_BODY)

    def start_put(self, path: str, data: bytes) -> "PendingPut":
        """``put_encoded`` begun: the request is sent (unless the call goes through
        ``requests``), ``result()`` of what is returned reads the answer. One at a time:
        the previous one's ``result()`` (or ``cancel()``) comes first."""
        return PendingPut(self, path, data)

    def post(self, path: str, body):
        return self.call("POST", path, json=body)

    def call(self, method: str, path: str, **options):
        """The decoded JSON answer of ``method path``, or ``RunFailed``."""
        if not self.base_url.startswith(("http://", "https://")):
            raise RunFailed(_("The connector has no valid base URL (http:// or https://)."))
        url = self.base_url + path
        return self._answer(path, lambda: self._send(method, url, **options))

    def _answer(self, path: str, send, response=None):
        """The decoded answer of ``send()`` (``response``: its first one, already there),
        sent again while the peer answers 429."""
        for attempt in range(self.max_waits + 1):
            response = send() if response is None else response
            if response.status_code != 429:
                return self._decoded(response, path)
            if attempt == self.max_waits:
                break
            time.sleep(_retry_after(response, self.wait_cap))
            response = None
        raise RunFailed(_("The application asks to slow down (HTTP 429) and kept asking: the run stopped, "
                          "it will be tried again at the next run."))

    def _send(self, method: str, url: str, **options):
        try:
            return self.session.request(method, url, timeout=self.timeout, allow_redirects=False, **options)
        except requests.Timeout:
            raise self._timed_out()
        except requests.ConnectionError:
            raise self._unreachable()
        except requests.RequestException as error:
            logger.warning("peer call %s %s failed: %s", method, url, type(error).__name__)
            raise RunFailed(_("The call to the application failed (%(type)s).", type=type(error).__name__))

    def _timed_out(self) -> RunFailed:
        return RunFailed(_("The application did not answer within %(seconds)s s: the run will be tried "
                           "again at the next run.", seconds=int(self.timeout)))

    @staticmethod
    def _unreachable() -> RunFailed:
        return RunFailed(_("The application cannot be reached (connection refused or address unknown): "
                           "check the base URL."))

    @staticmethod
    def _unsendable() -> RunFailed:
        """The request cannot be written (a key or a path no HTTP header can carry); the
        error's own text is not said: it may hold the key."""
        return RunFailed(_("The call to the application cannot be sent: check the API key and the base URL "
                           "(no line break, the address well formed)."))

    def _decoded(self, response, path: str):
        status = response.status_code
        if 300 <= status < 400:
            origin = _origin(urljoin(self.base_url + path, response.headers.get("Location") or ""))
            raise RunFailed(_("The application redirects to %(origin)s: correct the base URL.", origin=origin))
        if status in (401, 403):
            raise RunFailed(_("The application refused the call (HTTP %(status)s): check the API key.",
                              status=status))
        if status >= 500:
            raise RunFailed(_("The application is in error (HTTP %(status)s): the run will be tried again "
                              "at the next run.", status=status))
        if status >= 400:
            raise RunFailed(_("The application refused %(path)s (HTTP %(status)s).", path=path, status=status))
        try:
            return response.json()
        except ValueError:
            raise RunFailed(_("The application answered %(path)s with something that is not valid JSON.",
                              path=path))


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: where a redirection leads, without its
    path or credentials."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


JSON_BODY = {"Content-Type": "application/json"}


class PendingPut:
    """A ``PUT`` of an encoded JSON body on its way (``Peer.start_put``)."""

    def __init__(self, peer: Peer, path: str, data: bytes):
        self.peer, self.path, self.data = peer, path, data
        self.direct, self.error = _direct_of(peer), None
        if self.direct is not None:
            self._begin()

    def result(self):
        """The decoded JSON answer, or ``RunFailed``; the 429 waits as ``Peer.call``."""
        if self.direct is None:
            return self.peer.put_encoded(self.path, self.data)
        return self.peer._answer(self.path, self._again, self._response())

    def cancel(self) -> None:
        """Not waited for: its connection closed."""
        if self.direct is not None:
            self.direct.close()

    def _begin(self) -> None:
        """Send the request; what went wrong is raised by ``_response`` (the caller
        settles the batch before this one first)."""
        self.error = None
        try:
            self.direct.send("PUT", self.path, self.data)
        except ValueError:  # UnicodeError too; its text may hold the key: not kept
            self.direct.close()
            self.error = self.peer._unsendable()
        except (OSError, http.client.HTTPException) as error:
            self.error = error

    def _again(self):
        self._begin()
        return self._response()

    def _response(self):
        error, self.error = self.error, None
        if isinstance(error, RunFailed):
            raise error
        if error is not None and not isinstance(error, (BrokenPipeError, ConnectionResetError)):
            return self._failed(error)
        try:  # a peer that answers before reading the whole body (401, 413) breaks the write: its answer counts
            return self.direct.response()
        except (OSError, http.client.HTTPException) as failure:
            return self._failed(failure)

    def _failed(self, error):
        self.direct.close()
        if isinstance(error, TimeoutError):
            raise self.peer._timed_out() from None
        raise self.peer._unreachable() from None


def _direct_of(peer: Peer):
    """The peer's ``_Direct`` connection, made on its first use; None when its calls go
    through ``requests`` (a proxy, credentials in the URL, an invalid URL)."""
    if not hasattr(peer, "_direct"):
        peer._direct = _Direct.of(peer)
    return peer._direct


class _Direct:
    """One HTTP connection to the peer (``http.client``), kept alive while the peer allows it."""

    def __init__(self, peer: Peer, parts, verify):
        self.peer, self.prefix = peer, parts.path.rstrip("/")
        self.host, self.port, self.https = parts.hostname, parts.port, parts.scheme == "https"
        self.context = _tls_context(verify) if self.https else None
        self.headers = {name: value for name, value in peer.session.headers.items()
                        if name.lower() not in ("accept-encoding", "connection")}
        self.headers.update(JSON_BODY)
        self.connection = None

    @classmethod
    def of(cls, peer: Peer):
        url = peer.base_url
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 — raises on an invalid port
        except ValueError:
            return None
        if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc or parts.query:
            return None
        settings = peer.session.merge_environment_settings(url, {}, None, None, None)
        if select_proxy(url, settings["proxies"]) or settings.get("cert"):
            return None
        return cls(peer, parts, settings["verify"])

    def send(self, method: str, path: str, body: bytes) -> None:
        if self.connection is not None and _dropped(self.connection):
            self.close()
        if self.connection is None:
            kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            options = {"context": self.context} if self.https else {}
            self.connection = kind(self.host, self.port, timeout=self.peer.timeout, **options)
        self.connection.request(method, requote_uri(self.prefix + path), body, self.headers)

    def response(self) -> "_Response":
        if self.connection is None or self.connection.sock is None:  # never connected: no answer to read
            raise http.client.NotConnected()
        answer = self.connection.getresponse()
        content = answer.read()
        if answer.will_close:
            self.close()
        return _Response(answer.status, answer.headers, content)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _dropped(connection) -> bool:
    """Whether a kept-alive connection was closed by the peer (readable while idle)."""
    if connection.sock is None:
        return False
    try:
        return wait_for_read(connection.sock, timeout=0)
    except OSError:
        return True


def _tls_context(verify) -> ssl.SSLContext:
    """The certificates checked as ``requests`` checks them (``verify``: True, False or
    the CA bundle's path, from ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``)."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        return context
    location = DEFAULT_CA_BUNDLE_PATH if verify is True else verify
    if os.path.isdir(location):
        return ssl.create_default_context(capath=location)
    return ssl.create_default_context(cafile=location)


class _Response:
    """What ``Peer`` reads of an answer: as ``requests.Response`` gives it."""

    def __init__(self, status: int, headers, content: bytes):
        self.status_code, self.headers, self.content = status, headers, content

    def json(self):
        return json.loads(self.content)
