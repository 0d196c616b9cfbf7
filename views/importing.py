"""Spreadsheet import screen of a list: upload, preview with every error, then all rows or none.

The uploaded file waits in ``instance/uploads`` between the preview and the
confirmation; the session remembers which upload belongs to which user, tenant
and list, so a token cannot be replayed elsewhere.
"""
import os
import uuid

from flask import abort, current_app, flash, redirect, request, session
from flask_admin import expose
from flask_babel import gettext as _

from core import transaction
from core.tenancy import current_tenant_id
from spreadsheets.importer import TableSpec, import_table

UPLOADS_KEY = "pending_imports"


class UploadStore:
    """The one upload store: a file waits in ``instance/uploads`` between its preview and
    its confirmation, claimed once (a double submit imports nothing twice); the session
    remembers which upload belongs to which tenant and screen."""

    def confirmed_upload(self) -> tuple[dict, bytes] | None:
        """The upload a confirmation form names: its session entry and its bytes, claimed
        for this confirmation only (None when another one took it); 404 for a token that
        is not of this tenant and screen."""
        token = request.form.get("upload", "")
        entry = self.pending_upload(token)
        data = self.claim_upload(token)
        return None if data is None else (entry, data)

    def pending_upload(self, token: str) -> dict:
        """The session's entry of ``token`` for this tenant and screen, else 404."""
        entry = session.get(UPLOADS_KEY, {}).get(token)
        if entry is None or entry["tenant"] != current_tenant_id() or entry["endpoint"] != self.endpoint:
            abort(404)
        return entry

    def _upload_dir(self) -> str:
        path = os.path.join(current_app.instance_path, "uploads")
        os.makedirs(path, exist_ok=True)
        return path

    def _keep_upload(self, data: bytes, filename: str) -> str:
        """Keep the file until its confirmation (the last 5 uploads of the session; the
        files of those it forgets are deleted)."""
        token = uuid.uuid4().hex
        with open(os.path.join(self._upload_dir(), token), "wb") as handle:
            handle.write(data)
        pending = session.get(UPLOADS_KEY, {})
        pending[token] = {"tenant": current_tenant_id(), "endpoint": self.endpoint, "filename": filename}
        kept = dict(list(pending.items())[-5:])
        session[UPLOADS_KEY] = kept
        for forgotten in pending.keys() - kept.keys():
            self._delete_upload(forgotten)
        return token

    def claim_upload(self, token: str) -> bytes | None:
        """The kept file of ``token`` for one confirmation only, or None when another
        confirmation of it has taken it (a double click, two tabs, another worker).

        The file is renamed first — atomic, across worker processes too — and read and
        deleted after: of two submits of the same confirmation exactly one gets the data,
        so nothing is written twice. The session forgets the token either way."""
        pending = session.get(UPLOADS_KEY, {})
        pending.pop(token, None)
        session[UPLOADS_KEY] = pending
        path = os.path.join(self._upload_dir(), token)
        claimed = f"{path}.{uuid.uuid4().hex}.claimed"
        try:
            os.rename(path, claimed)
        except FileNotFoundError:
            return None
        try:
            with open(claimed, "rb") as handle:
                return handle.read()
        finally:
            os.unlink(claimed)

    def upload_already_confirmed(self, endpoint: str):
        flash(_("This import has already been confirmed (the file is imported once only): "
                "check the rows before importing it again."), "warning")
        return redirect(self.get_url(endpoint))

    def _forget_upload(self, token: str) -> None:
        pending = session.get(UPLOADS_KEY, {})
        pending.pop(token, None)
        session[UPLOADS_KEY] = pending
        self._delete_upload(token)

    def _delete_upload(self, token: str) -> None:
        try:
            os.unlink(os.path.join(self._upload_dir(), token))
        except FileNotFoundError:
            pass


class ImportMixin(UploadStore):
    """Adds ``<list>/import/`` to a SecuredModelView."""

    @property
    def can_import(self) -> bool:
        return self.can_create and self.can_edit

    def import_spec(self) -> TableSpec:
        choices = {name: [value for value, _label in pairs] for name, pairs in (self.form_choices or {}).items()}
        names = self.export_field_names()
        read_only = [name for name in names if self.form_columns and name not in self.form_columns]
        return TableSpec(self.model, names, choices, read_only)

    def import_file(self, data: bytes, filename: str, tenant_id: int, dry_run: bool = False):
        """Check (and unless ``dry_run`` write) an uploaded file: an ``ImportReport``. A list
        whose rows have no code of their own (article mappings) imports its own way."""
        return import_table(self.import_spec(), data, filename, tenant_id, dry_run=dry_run)

    @expose("/import/", methods=("GET", "POST"))
    def import_view(self):
        if not self.can_import:
            abort(403)
        report, upload = None, None
        if request.method == "POST":
            uploaded = request.files.get("file")
            if uploaded is None or not uploaded.filename:
                flash(_("Choose a file to import."), "error")
            else:
                data = uploaded.read()
                report = self.import_file(data, uploaded.filename, current_tenant_id(), dry_run=True)
                if report.ok:
                    upload = self._keep_upload(data, uploaded.filename)
        return self.render("passerelle/import.html", report=report, upload=upload,
                           max_rows=current_app.config["IMPORT_MAX_SHOWN_ROWS"])

    @expose("/import/confirm/", methods=("POST",))
    def import_confirm_view(self):
        if not self.can_import:
            abort(403)
        claimed = self.confirmed_upload()
        if claimed is None:
            return self.upload_already_confirmed(".index_view")
        entry, data = claimed
        report = self.import_file(data, entry["filename"], current_tenant_id())
        if report.written:
            transaction.commit()
            flash(_("%(create)s rows created, %(update)s rows updated.",
                    create=report.count("create"), update=report.count("update")), "success")
            return redirect(self.get_url(".index_view"))
        return self.render("passerelle/import.html", report=report, upload=None,
                           max_rows=current_app.config["IMPORT_MAX_SHOWN_ROWS"])
