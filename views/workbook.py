"""The parameters workbook screen (``/admin/parameters-workbook/``): download the
dossier's parameters as one workbook; upload one, see every row to create or update and
every error by sheet, row and column, then import it all or nothing."""
import tempfile

from flask import flash, redirect, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import transaction
from core.tenancy import PARAMETER_WRITERS, current_tenant_id
from spreadsheets.workbook import import_parameters_workbook, write_parameters_workbook
from views.base import SecuredView
from views.downloads import send_temporary_download
from views.formatters import file_name
from views.importing import UploadStore


class ParametersWorkbookView(UploadStore, SecuredView):
    read_roles = write_roles = PARAMETER_WRITERS

    @expose("/")
    def index(self):
        return self.render("parameters_workbook.html", report=None, upload=None)

    @expose("/download/")
    def download(self):
        handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)
        handle.close()
        write_parameters_workbook(handle.name)
        return send_temporary_download(handle.name, file_name(_l("Parameters workbook")))

    @expose("/upload/", methods=("POST",))
    def upload(self):
        uploaded = request.files.get("file")
        if uploaded is None or not uploaded.filename:
            flash(_("Choose a file to import."), "error")
            return redirect(self.get_url(".index"))
        data = uploaded.read()
        report = import_parameters_workbook(data, current_tenant_id(), dry_run=True)
        transaction.rollback()
        upload = self._keep_upload(data, uploaded.filename) if report.ok else None
        return self.render("parameters_workbook.html", report=report, upload=upload)

    @expose("/confirm/", methods=("POST",))
    def confirm(self):
        claimed = self.confirmed_upload()
        if claimed is None:
            return self.upload_already_confirmed(".index")
        _entry, data = claimed
        report = import_parameters_workbook(data, current_tenant_id())
        if not report.written:
            transaction.rollback()
            return self.render("parameters_workbook.html", report=report, upload=None)
        transaction.commit()
        created = sum(sheet.count("create") for _name, sheet in report.sheets)
        updated = sum(sheet.count("update") for _name, sheet in report.sheets)
        flash(_("Parameters imported — rows created: %(create)s, rows updated: %(update)s.",
                create=created, update=updated), "success")
        return redirect(self.get_url(".index"))
