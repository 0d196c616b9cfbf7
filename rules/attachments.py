"""The one attachment rule, for a file attached by hand on the invoice screen and for a
work order's attachments received by webhook: at most ``MAX_ATTACHMENT_BYTES``, a safe
file name, and the content type from the allow-list by extension (``core.files``:
anything not listed is kept as ``application/octet-stream``, never as the uploader's
``text/html``). Flush only."""
from flask_babel import gettext as _
from werkzeug.utils import secure_filename

from core.extensions import db
from core.files import download_type
from models.invoices import Invoice, InvoiceAttachment

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
DEFAULT_NAME = "piece-jointe"


def attachment_error(size: int) -> str | None:
    """Why a file of ``size`` bytes cannot be attached, or None."""
    if size > MAX_ATTACHMENT_BYTES:
        return _("The file is too large (more than 10 MB).")
    return None


def stored_name(filename: str | None) -> str:
    return (secure_filename(filename or "") or DEFAULT_NAME)[:250]


def attach(invoice: Invoice, filename: str | None, content: bytes) -> InvoiceAttachment:
    """Add ``content`` to ``invoice`` as an attachment (the caller checked ``attachment_error``)."""
    message = attachment_error(len(content))
    if message:
        raise ValueError(message)
    name = stored_name(filename)
    attachment = InvoiceAttachment(tenant_id=invoice.tenant_id, invoice=invoice, filename=name,
                                   content_type=download_type(name), content=content)
    db.session.add(attachment)
    return attachment
