"""The parameter health check screen (``/admin/parameter-health/``): the findings of
``rules.health`` grouped by severity, each a link to its row, exported to XLSX."""
from flask import url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from werkzeug.routing import BuildError

from core.tenancy import PARAMETER_WRITERS, current_tenant_id
from core.waiting import register_waiting
from rules.health import BLOCKING, WARNING, count_blocking, health_findings
from spreadsheets import xlsx
from views.base import SecuredView
from views.downloads import send_temporary_download
from views.formatters import file_name

SEVERITY_LABELS = {BLOCKING: _l("Blocking"), WARNING: _l("Warning")}


def row_url(finding) -> str | None:
    """The screen of the row a finding concerns (its form, else its list)."""
    if not finding.table:
        return None
    for endpoint, args in ((f"{finding.table}.edit_view", {"id": finding.row_id}), (f"{finding.table}.index_view", {})):
        if endpoint.endswith("edit_view") and finding.row_id is None:
            continue
        try:
            return url_for(endpoint, **args)
        except BuildError:
            continue
    return None


class ParameterHealthView(SecuredView):
    read_roles = PARAMETER_WRITERS

    @expose("/")
    def index(self):
        findings = health_findings(current_tenant_id())
        groups = [(severity, SEVERITY_LABELS[severity], [(f, row_url(f)) for f in findings if f.severity == severity])
                  for severity in (BLOCKING, WARNING)]
        return self.render("parameter_health.html", groups=groups, total=len(findings),
                           export_url=self.get_url(".export"))

    @expose("/export/xlsx/")
    def export(self):
        columns = [xlsx.Column(_("Severity")), xlsx.Column(_("Rule")), xlsx.Column(_("Message"), width=90),
                   xlsx.Column(_("Table")), xlsx.Column(_("Code"))]
        rows = ((str(SEVERITY_LABELS[f.severity]), f.rule, f.message, f.table, f.row_code)
                for f in health_findings(current_tenant_id()))
        path = xlsx.write_temporary_xlsx(_("Parameter health"), columns, rows)
        return send_temporary_download(path, file_name(_l("Parameter health")))


register_waiting(
    "parameter_health", roles=PARAMETER_WRITERS, count=count_blocking,
    label=lambda count: ngettext("%(num)s blocking parameter problem", "%(num)s blocking parameter problems", count),
    url=lambda: url_for("parameter-health.index"))
