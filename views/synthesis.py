"""Job-site synthesis (*synthèse chantier*): one row per job site, filters (client,
sector, period of the invoice dates), an inline SVG bar chart (no script, nothing
fetched from the internet) and the XLSX export of the filtered rows."""
from datetime import date

from flask import request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from core.extensions import db
from core.tenancy import EVERYONE, current_tenant_id
from models.master_data import Client
from models.parameters import Sector
from rules.synthesis import SynthesisFilters, job_site_synthesis, totals
from spreadsheets import cells, xlsx
from views.base import SecuredView
from views.downloads import send_temporary_download
from views.formatters import amount_text, file_name

CHART_ROWS = 15
EXPORT_COLUMNS = (
    (_l("Job site"), xlsx.TEXT), (_l("Job site name"), xlsx.TEXT), (_l("Client"), xlsx.TEXT),
    (_l("Sector"), xlsx.TEXT), (_l("Validated invoices"), xlsx.INTEGER), (_l("Invoiced excl. VAT"), xlsx.MONEY),
    (_l("Invoiced incl. VAT"), xlsx.MONEY), (_l("Paid"), xlsx.MONEY), (_l("Outstanding"), xlsx.MONEY),
    (_l("Last payment"), xlsx.DATE),
)


def money(value) -> str:
    """An amount in the UI language's format (1 250,40 in French); the export keeps numbers."""
    return amount_text(value)


def _parse_day(text: str | None) -> date | None:
    """A period bound as typed (JJ/MM/AAAA, ISO accepted)."""
    try:
        return cells.parse_date(text) if text else None
    except cells.CellError:
        return None


def chart_bars(rows, limit: int = CHART_ROWS) -> dict:
    """Bar lengths (0-100 %) of invoiced incl. VAT and paid for the job sites invoiced most."""
    top = sorted((row for row in rows if row.invoiced_incl_vat or row.paid),
                 key=lambda row: (-row.invoiced_incl_vat, row.code))[:limit]
    scale = max([max(row.invoiced_incl_vat, row.paid) for row in top] or [0])
    bars = []
    for row in top:
        bars.append({"code": row.code, "name": row.name, "invoiced": row.invoiced_incl_vat, "paid": row.paid,
                     "invoiced_pct": float(row.invoiced_incl_vat / scale * 100) if scale else 0,
                     "paid_pct": float(row.paid / scale * 100) if scale else 0})
    return {"bars": bars, "scale": scale, "more": max(0, len([r for r in rows if r.invoiced_incl_vat]) - limit)}


class JobSiteSynthesisView(SecuredView):
    read_roles = EVERYONE

    def filters(self, args) -> tuple[SynthesisFilters, dict, list[str]]:
        """The filters of the request's arguments (client and sector by code), the values to
        show back in the form, and the messages for values that are not understood."""
        tenant_id, errors = current_tenant_id(), []
        client_code = (args.get("client") or "").strip()
        client_id = None
        if client_code:
            client_id = db.session.execute(select(Client.id).where(
                Client.tenant_id == tenant_id, func.lower(Client.code) == client_code.lower())).scalar()
            if client_id is None:
                errors.append(_("Unknown client code %(code)s.", code=client_code))
                client_id = -1
        sector_id = args.get("sector", type=int)
        if sector_id is not None and not db.session.execute(select(Sector.id).where(
                Sector.tenant_id == tenant_id, Sector.id == sector_id)).scalar():
            sector_id = -1
        date_from, date_to = _parse_day(args.get("date_from")), _parse_day(args.get("date_to"))
        if (args.get("date_from") and date_from is None) or (args.get("date_to") and date_to is None):
            errors.append(_("Dates are expected as DD/MM/YYYY."))
        filters = SynthesisFilters(client_id, sector_id, date_from, date_to, args.get("invoiced") == "1")
        shown = {"client": client_code, "sector": sector_id if sector_id and sector_id > 0 else None,
                 "date_from": f"{date_from:%d/%m/%Y}" if date_from else args.get("date_from", ""),
                 "date_to": f"{date_to:%d/%m/%Y}" if date_to else args.get("date_to", ""), "invoiced": filters.with_invoices_only}
        return filters, shown, errors

    @expose("/")
    def index(self):
        filters, shown, errors = self.filters(request.args)
        rows = job_site_synthesis(current_tenant_id(), filters)
        sectors = db.session.execute(select(Sector.id, Sector.code, Sector.label).where(
            Sector.tenant_id == current_tenant_id()).order_by(Sector.code)).all()
        return self.render("payments/synthesis.html", rows=rows, totals=totals(rows), chart=chart_bars(rows),
                           sectors=sectors, shown=shown, errors=errors, money=money,
                           export_url=self.get_url(".export", **request.args))

    # ``flask --app app export job-site-synthesis --tenant T -o F.xlsx`` calls these two.
    def filtered_query(self, *args, **kwargs) -> SynthesisFilters:
        return SynthesisFilters()

    def write_export(self, filters: SynthesisFilters) -> str:
        rows = job_site_synthesis(current_tenant_id(), filters)
        columns = [xlsx.Column(str(header), kind) for header, kind in EXPORT_COLUMNS]
        return xlsx.write_temporary_xlsx(str(_("Job-site synthesis")), columns, (
            (row.code, row.name, row.client_code, row.sector_code, row.invoice_count, row.invoiced_excl_vat,
             row.invoiced_incl_vat, row.paid, row.outstanding, row.last_payment_date) for row in rows))

    @expose("/export/xlsx/")
    def export(self):
        filters, _shown, _errors = self.filters(request.args)
        return send_temporary_download(self.write_export(filters), file_name(_l("Job-site synthesis")))
