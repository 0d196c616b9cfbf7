"""Connector folders: always inside ``EXCHANGE_ROOT``.

A folder setting is a path relative to the root. Refused: an absolute path
elsewhere, any ``..``, and a path that resolves outside the root through a
symbolic link. ``exchange_folder`` returns the normalised relative form that is
stored (so that two spellings of one folder compare equal).
"""
from pathlib import Path, PurePosixPath

from flask import current_app
from flask_babel import lazy_gettext as _l


class FolderRefused(ValueError):
    """A folder setting that does not lie under ``EXCHANGE_ROOT``."""


def exchange_root() -> Path:
    return Path(current_app.config["EXCHANGE_ROOT"]).resolve()


def exchange_folder(value: str) -> str:
    """The folder ``value`` relative to ``EXCHANGE_ROOT``, normalised, or ``FolderRefused``."""
    text = (value or "").strip().replace("\\", "/")
    if not text or "\x00" in text:
        raise FolderRefused(_l("Give a folder relative to the exchange root."))
    root = exchange_root()
    candidate = Path(text)
    if candidate.is_absolute():
        try:
            text = candidate.relative_to(root).as_posix()
        except ValueError:
            raise FolderRefused(_l("The folder must lie under the exchange root (%(root)s).", root=str(root)))
    parts = PurePosixPath(text).parts
    if ".." in parts:
        raise FolderRefused(_l("A folder may not contain “..”."))
    relative = PurePosixPath(*[part for part in parts if part not in ("", ".")])
    if not relative.parts:
        raise FolderRefused(_l("Give a folder relative to the exchange root."))
    resolved = (root / relative).resolve()
    if resolved != root and root not in resolved.parents:
        raise FolderRefused(_l("The folder leads outside the exchange root through a symbolic link."))
    return relative.as_posix()


def within(folder: str, other: str) -> bool:
    """Whether the stored folder ``folder`` is ``other`` or lies inside it (both normalised
    by ``exchange_folder``: ``a/b`` is within ``a``, ``ab`` is not)."""
    return folder == other or folder.startswith(other + "/")


def absolute_folder(relative: str) -> Path:
    """The absolute path of a stored folder setting (checked again: a link may have changed)."""
    return exchange_root() / exchange_folder(relative)
