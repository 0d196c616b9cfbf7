"""The content types stored files are kept and served with: taken from an allow-list by
the file's extension, never the type an uploader declared (quality.md S11). Shared by
the downloads (``views.downloads``) and the attachment rule (``rules.attachments``)."""
from pathlib import PurePath

OCTET_STREAM = "application/octet-stream"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ALLOWED_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": XLSX_TYPE,
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".csv": "text/csv",
    ".txt": "text/plain",
}


def download_type(filename: str) -> str:
    """The content type a file named ``filename`` is served (and stored) with."""
    return ALLOWED_TYPES.get(PurePath(filename or "").suffix.lower(), OCTET_STREAM)
