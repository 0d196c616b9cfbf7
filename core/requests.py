"""The one place that cleans what a request brings in: NUL characters.

A NUL character is never meaningful in a form, a search box, a filter, a look-up or a
query string, and PostgreSQL refuses it in any text (a 500 before this, the login one
before any authentication). The app's request class removes it from every parameter
name and value (query string, form fields) and from uploaded file names, before any
view, form or the login sees them; a NUL in the URL path is a 404 (no route has one).
"""
from flask import Request, abort, request
from werkzeug.datastructures import FileStorage, ImmutableMultiDict, MultiDict

NUL = "\x00"


def without_nul(value):
    """``value`` without NUL characters (text and uploaded files' names; others as they are)."""
    if isinstance(value, str):
        return value.replace(NUL, "")
    if isinstance(value, FileStorage) and value.filename and NUL in value.filename:
        value.filename = value.filename.replace(NUL, "")
    return value


class NulFreeParameters(ImmutableMultiDict):
    """Werkzeug's parameter storage (``args``, ``form``, ``files``) with NULs removed."""

    def __init__(self, mapping=None):
        items = MultiDict(mapping).items(multi=True)
        super().__init__([(without_nul(key), without_nul(value)) for key, value in items])


class PasserelleRequest(Request):
    parameter_storage_class = NulFreeParameters


def refuse_nul_in_path() -> None:
    """``before_request``: a NUL in the URL path matches no screen."""
    if NUL in request.path:
        abort(404)
