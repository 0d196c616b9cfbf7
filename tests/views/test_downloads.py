"""Stored files leave as downloads (quality.md S11; issue 7, item 12): attachment
disposition, ``X-Content-Type-Options: nosniff``, a content type from the allow-list of
``views/downloads.py`` by extension, never the uploader's ``text/html``."""
import io

import pytest

from core.extensions import db
from models.invoices import InvoiceAttachment
from tests.rules.invoice_factory import draft_invoice, invoice_setup
from views.downloads import download_type


@pytest.fixture
def invoice_id(app, tenants):
    with app.app_context():
        invoice = draft_invoice(tenants["ACME"], invoice_setup(tenants["ACME"]))
        db.session.commit()
        return invoice.id


def _attach(app, b, invoice_id, filename, content, mimetype):
    response = b.post("/admin/invoices/attachments/", {
        "id": str(invoice_id), "file": (io.BytesIO(content), filename, mimetype)}, content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        return db.session.query(InvoiceAttachment.id).filter_by(
            invoice_id=invoice_id).order_by(InvoiceAttachment.id.desc()).first()[0]


def _assert_download(response, content_type):
    assert response.status_code == 200
    assert response.mimetype == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("filename, declared, served", [
    ("page.html", "text/html", "application/octet-stream"),
    ("page.svg", "image/svg+xml", "application/octet-stream"),
    ("no-extension", "text/html", "application/octet-stream"),
    ("scan.PDF", "text/html", "application/pdf"),
    ("photo.jpg", "text/html", "image/jpeg"),
    ("notes.txt", "text/html", "text/plain"),
])
def test_an_attachment_is_served_with_its_allowed_type_never_the_uploaders(app, browser, tenants, invoice_id,
                                                                          filename, declared, served):
    b = browser("backoffice@acme.test")
    attachment_id = _attach(app, b, invoice_id, filename, b"<script>alert(1)</script>", declared)
    _assert_download(b.get(f"/admin/invoices/attachments/{attachment_id}/"), served)


def test_an_attachment_stored_with_an_html_type_is_not_served_as_html(app, browser, tenants, invoice_id):
    """A row stored with the uploader's type (before the allow-list) is served by its name."""
    with app.app_context():
        row = InvoiceAttachment(tenant_id=tenants["ACME"], invoice_id=invoice_id, filename="rapport.pdf",
                                content_type="text/html", content=b"<html><script>alert(1)</script></html>")
        db.session.add(row)
        db.session.commit()
        attachment_id = row.id
    response = browser("viewer@acme.test").get(f"/admin/invoices/attachments/{attachment_id}/")
    _assert_download(response, "application/pdf")


def test_exports_and_the_payments_template_are_downloads_too(browser, tenants):
    b = browser("backoffice@acme.test")
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    for url in ("/admin/units/export/xlsx/", "/admin/payments/import/template/",
                "/admin/job-site-synthesis/export/xlsx/"):
        _assert_download(b.get(url), xlsx)


def test_the_allow_list():
    assert download_type("a.docx") == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert download_type("a.ods") == "application/vnd.oasis.opendocument.spreadsheet"
    assert download_type("a.webp") == "image/webp"
    assert download_type("a.csv") == "text/csv"
    for name in ("a.html", "a.htm", "a.js", "a.xhtml", "a.svg", "a.exe", "", "pdf"):
        assert download_type(name) == "application/octet-stream", name
