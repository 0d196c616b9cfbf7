"""Browser tests: the test ``app`` served by a real HTTP server, driven by Playwright
on Debian's chromium (``make chromium``; a browser is never downloaded).

The server shares the ``app`` fixture's database. Each request runs in its own
application context (``make_server`` calls the WSGI app per request), so its
database session is removed when the request ends. Teardown order keeps SQLite
unlocked: the page and its browser context close first (no request in flight,
keep-alive connections closed), then the server stops and joins its request
threads, and only then does the root ``clean_database`` fixture empty the tables.
"""
import os
import re
import socket
import tempfile
import threading
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 15_000

class QuietRequestHandler(WSGIRequestHandler):
    """No access log line per request (errors are still logged)."""

    def log_request(self, code="-", size="-") -> None:
        pass


class LiveServer:
    """The WSGI app on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="e2e-live-server", daemon=True)

    def start(self) -> None:
        self.thread.start()
        with socket.create_connection(("127.0.0.1", self.server.server_port), timeout=5):
            pass

    def stop(self) -> None:
        self.server.shutdown()      # stops serve_forever
        self.server.server_close()  # joins the request threads (block_on_close)
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app):
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (install it with `make chromium`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, accept_downloads=True, locale="fr-FR",
                                   viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshot_root():
    """Screenshots go to ``$E2E_SCREENSHOTS`` or a fresh temporary folder (never the repository)."""
    root = Path(os.environ.get("E2E_SCREENSHOTS") or tempfile.mkdtemp(prefix="passerelle-e2e-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser test screenshots: {root}")
    return root


@pytest.fixture
def screenshot(page, screenshot_root, request):
    """``screenshot("step")`` saves a numbered full-page PNG of the page for this test."""
    folder = screenshot_root / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 1000))

    def take(step: str) -> Path:
        path = folder / f"{next(counter):02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return take
