"""The one way a file leaves the application: as a download (``Content-Disposition:
attachment``), with ``X-Content-Type-Options: nosniff`` and a content type taken from an
allow-list by the file's extension, never the type an uploader declared (quality.md S11).

A stored file named ``.html`` (or anything not listed) is ``application/octet-stream``;
one named ``.pdf`` that holds HTML is still a PDF to the browser, which neither sniffs
nor renders it in the application's origin (``sandbox`` policy as well)."""
import io
import os

from flask import after_this_request, send_file

from core.files import ALLOWED_TYPES, OCTET_STREAM, XLSX_TYPE, download_type  # noqa: F401  (re-exported)


def send_download(content: bytes | str, filename: str):
    """Send stored bytes (or the file at a path) as a download named ``filename``."""
    source = io.BytesIO(content) if isinstance(content, (bytes, bytearray, memoryview)) else content
    response = send_file(source, as_attachment=True, download_name=filename, mimetype=download_type(filename))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def send_temporary_download(path: str, filename: str):
    """Send a file written for this response (an export) and remove it once sent."""
    @after_this_request
    def _remove(response):
        response.call_on_close(lambda: os.unlink(path))
        return response

    return send_download(path, filename)
