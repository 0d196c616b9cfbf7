"""P7 — the invoice document: the Factur-X PDF of a 20-line validated invoice, then of
50 of them, against WeasyPrint rendering the same HTML alone (target ≤ 1.5×); and the
second download of a stored document through the screen (target ≤ 20 ms).

The measured path is ``rules.documents.facturx_pdf`` (HTML → PDF/A-3 by WeasyPrint, the
CII XML built and checked against the XSD by ``factur-x``, attached with its XMP); the
baseline is ``weasyprint.HTML(string=html).write_pdf()`` of the same HTML.
"""
import time
from decimal import Decimal

from benchmarks.harness import Figure, bench_app, best_of_pair, create_tenant_user, login

LINES = 20
BATCH = 50
TARGET = 1.5
SECOND_DOWNLOAD_MS = 20


def _invoices(tenant_id: int, count: int) -> list[int]:
    from commands.seed import COMPANY
    from core.extensions import db
    from models import NumberingSequence, Unit, VatRate
    from models.invoices import Invoice, InvoiceLine
    from models.master_data import Client
    from rules.invoices import compute_totals, validate_invoice
    from rules.settings import settings_for

    settings = settings_for(tenant_id)
    for name, value in COMPANY.items():
        setattr(settings, name, value)
    client = Client(tenant_id=tenant_id, code="C1", name="Client bench", siren="552100554",
                    address="3 avenue Foch", postcode="69006", city="Lyon")
    vat = VatRate(tenant_id=tenant_id, code="T20", label="TVA 20 %", rate=Decimal("20"))
    hour = Unit(tenant_id=tenant_id, code="H", label="Heure", un_ece_code="HUR")
    db.session.add_all([client, vat, hour, NumberingSequence(
        tenant_id=tenant_id, code="FAC", label="Factures", document_type="invoice", prefix="FA", padding=6,
        next_number=1, gapless=True)])
    db.session.flush()
    ids = []
    for _ in range(count):
        invoice = Invoice(tenant_id=tenant_id, client_id=client.id, state="draft", memo="Travaux du mois", lines=[
            InvoiceLine(tenant_id=tenant_id, position=i, label=f"Prestation n° {i}", kind="labour" if i % 2 else
                        "supply", quantity=Decimal(i % 5 + 1), unit_price=Decimal("42.50"), vat_rate=vat,
                        unit=hour if i % 2 else None) for i in range(LINES)])
        compute_totals(invoice)
        db.session.add(invoice)
        db.session.flush()
        validate_invoice(invoice.id, tenant_id)
        ids.append(invoice.id)
    db.session.commit()
    return ids


def run(dataset_name=None, repeat: int = 3, report=print) -> dict:
    from weasyprint import HTML

    from core.extensions import db
    from rules.documents import _load, document_data, facturx_pdf, render_html

    results = {}
    with bench_app("p7") as (app, _config):
        tenant_id = create_tenant_user("BENCH", "p7@bench.test")
        ids = _invoices(tenant_id, BATCH)
        with app.test_request_context():
            data = [document_data(_load(invoice_id, tenant_id)) for invoice_id in ids]
            html = [render_html(item) for item in data]

            def one_measured():
                facturx_pdf(data[0])

            def one_baseline():
                HTML(string=html[0]).write_pdf()

            def batch_measured():
                for item in data:
                    facturx_pdf(item)

            def batch_baseline():
                for text in html:
                    HTML(string=text).write_pdf()

            one_measured(), one_baseline()  # warm-up (fonts, schemas)
            (measured_one, _), (baseline_one, _) = best_of_pair(one_measured, one_baseline, repeat)
            (measured_batch, _), (baseline_batch, _) = best_of_pair(batch_measured, batch_baseline, 1)
        single = Figure("single", f"P7 1 × {LINES} lines", TARGET, baseline_one, measured_one, 1)
        batch = Figure("batch", f"P7 {BATCH} invoices", TARGET, baseline_batch, measured_batch, BATCH)
        db.session.remove()

    with bench_app("p7dl", push_context=False) as (app, _config):
        with app.app_context():
            tenant_id = create_tenant_user("BENCH", "p7dl@bench.test")
            invoice_id = _invoices(tenant_id, 1)[0]
        client = login(app, "p7dl@bench.test")
        first = client.get(f"/admin/invoices/pdf/?id={invoice_id}")  # renders and stores
        timings = []
        for _ in range(max(repeat, 5)):
            start = time.perf_counter()
            again = client.get(f"/admin/invoices/pdf/?id={invoice_id}")
            timings.append(time.perf_counter() - start)
        identical = first.status_code == again.status_code == 200 and first.data == again.data
        second_ms = min(timings) * 1000

    for figure in (single, batch):
        report(figure.line())
        results[figure.key] = figure.as_dict()
    download_ok = identical and second_ms <= SECOND_DOWNLOAD_MS
    report(f"P7 second download  {second_ms:.1f} ms (target ≤ {SECOND_DOWNLOAD_MS} ms)  identical bytes {identical}"
           + ("" if download_ok else "  ** NOT MET **"))
    results["second_download"] = {"ms": round(second_ms, 2), "target_ms": SECOND_DOWNLOAD_MS,
                                  "identical": identical, "ok": download_ok}
    results["ok"] = single.ok and batch.ok and download_ok
    return results
