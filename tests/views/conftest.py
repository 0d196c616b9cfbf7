"""Screen-test set-up: the compiled catalogues.

``translations/<locale>/LC_MESSAGES/messages.mo`` is not versioned (``make translations``
builds it). It is compiled here from its ``.po`` when missing or older, when this file is
loaded, i.e. before the test modules of this folder are imported and before any app is
built, so that skip markers testing for the ``.mo`` and Flask-Babel's catalogue cache
both see the current translations. The ``.mo`` is written to a temporary file and then
renamed, so that two test runs in the same checkout never read a half-written one.
"""
import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"


def compile_catalogues(translations: Path = TRANSLATIONS) -> list[Path]:
    """Compile every ``messages.po`` whose ``.mo`` is missing or older; return the ``.mo`` written."""
    written = []
    for po_path in sorted(translations.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parents[1].name, domain="messages")
        handle, temporary = tempfile.mkstemp(dir=mo_path.parent, prefix=".messages-", suffix=".mo")
        try:
            with os.fdopen(handle, "wb") as mo_file:
                write_mo(mo_file, catalog)
            os.chmod(temporary, 0o644)  # mkstemp makes it private; a .mo is an ordinary file
            os.replace(temporary, mo_path)
        except BaseException:
            os.unlink(temporary)
            raise
        written.append(mo_path)
    return written


compile_catalogues()
