"""The one HTTP client of the exchanges: every peer call goes through ``Peer``, so that
a dead or lying peer always ends the run the same way, with a readable message.

Timeouts, refused connections, HTTP 5xx and answers that are not JSON raise
``RunFailed`` (the run ends ``failed``, nothing integrated is lost, the next run
starts over); 401/403 says to check the API key; 429 is waited out as its
``Retry-After`` says, at most ``EXCHANGE_RETRY_AFTER_MAX_WAITS`` times and never
longer than ``EXCHANGE_RETRY_AFTER_CAP_SECONDS`` each, then the run fails. The API
key travels in ``X-Api-Key`` and never appears in a message or a log.
"""
import logging
import time

import requests
from flask import current_app
from flask_babel import gettext as _

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

    def get(self, path: str, params: dict | None = None):
        return self.call("GET", path, params=params)

    def put(self, path: str, body):
        return self.call("PUT", path, json=body)

    def put_encoded(self, path: str, data: bytes):
        """``put`` of a body already encoded as JSON (UTF-8)."""
        return self.call("PUT", path, data=data, headers={"Content-Type": "application/json"})

    def post(self, path: str, body):
        return self.call("POST", path, json=body)

    def call(self, method: str, path: str, **options):
        """The decoded JSON answer of ``method path``, or ``RunFailed``."""
        if not self.base_url.startswith(("http://", "https://")):
            raise RunFailed(_("The connector has no valid base URL (http:// or https://)."))
        url = self.base_url + path
        for attempt in range(self.max_waits + 1):
            response = self._send(method, url, **options)
            if response.status_code != 429:
                return self._decoded(response, path)
            if attempt == self.max_waits:
                break
            time.sleep(_retry_after(response, self.wait_cap))
        raise RunFailed(_("The application asks to slow down (HTTP 429) and kept asking: the run stopped, "
                          "it will be tried again at the next run."))

    def _send(self, method: str, url: str, **options):
        try:
            return self.session.request(method, url, timeout=self.timeout, **options)
        except requests.Timeout:
            raise RunFailed(_("The application did not answer within %(seconds)s s: the run will be tried "
                              "again at the next run.", seconds=int(self.timeout)))
        except requests.ConnectionError:
            raise RunFailed(_("The application cannot be reached (connection refused or address unknown): "
                              "check the base URL."))
        except requests.RequestException as error:
            logger.warning("peer call %s %s failed: %s", method, url, type(error).__name__)
            raise RunFailed(_("The call to the application failed (%(type)s).", type=type(error).__name__))

    @staticmethod
    def _decoded(response, path: str):
        status = response.status_code
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
