"""P5 — invoice validation: 4 processes × 500 concurrent validations.

Each process validates its share of 2,000 draft invoices through
``rules.invoices.validate_invoice`` (what the screen's action and button call),
one transaction per invoice, all processes at once. Checked: 0 gaps and 0
duplicates in the numbers; measured: validations per second (target ≥ 200 on
PostgreSQL; on SQLite the figure is given for information), and the ratio to the
baseline of quality.md run in the same process: a bare DB-API loop in as many
processes doing the same locked sequence ``UPDATE … RETURNING``, conditional invoice
``UPDATE`` and ``COMMIT`` (target ≥ 0.25×).
"""
import multiprocessing
import time
from decimal import Decimal

from benchmarks.harness import bench_app, create_tenant_user, describe_shares, dialect_name, time_shares

PROCESSES = 4
PER_PROCESS = 500
TARGET_PER_S = 200
TARGET_RATIO = 0.25  # of the bare DB-API baseline (quality.md)


def _worker(config: dict, tenant_id: int, invoice_ids: list[int], ready, start_event, numbers) -> None:
    from app import create_app
    from core.extensions import db
    from rules.invoices import validate_invoice

    app = create_app(config)
    with app.app_context():
        db.session.execute(db.select(1))  # connect before the start signal
        db.session.rollback()
        ready.put(True)
        start_event.wait()
        taken = []
        for invoice_id in invoice_ids:
            taken.append(validate_invoice(invoice_id, tenant_id).sequence_number)
            db.session.commit()
        numbers.extend(taken)


def _baseline_worker(config: dict, sequence_id: int, invoice_ids: list[int], ready, start_event, numbers) -> None:
    """The baseline of quality.md: a bare DB-API loop doing the same locked sequence
    ``UPDATE … RETURNING``, the conditional invoice ``UPDATE`` and ``COMMIT``."""
    from sqlalchemy import create_engine

    url = config["SQLALCHEMY_DATABASE_URI"]
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS", {}).get("connect_args", {}))
    if url.startswith("sqlite"):
        options["timeout"] = 60
    engine = create_engine(url, connect_args=options)
    connection = engine.raw_connection()
    mark = "?" if url.startswith("sqlite") else "%s"
    take = (f"UPDATE numbering_sequences SET next_number = next_number + 1, highest_number_used = next_number "
            f"WHERE id = {mark} RETURNING highest_number_used, prefix, padding")
    write = (f"UPDATE invoices SET number = {mark}, sequence_number = {mark}, numbering_sequence_id = {mark}, "
             f"state = 'validated' WHERE id = {mark} AND state = 'draft'")
    ready.put(True)
    start_event.wait()
    taken = []
    cursor = connection.cursor()
    for invoice_id in invoice_ids:
        cursor.execute(take, (sequence_id,))
        number, prefix, padding = cursor.fetchone()
        cursor.execute(write, (f"{prefix or ''}{number:0{padding or 0}d}", number, sequence_id, invoice_id))
        connection.commit()
        taken.append(number)
    connection.close()
    numbers.extend(taken)


def _baseline(config: dict, processes: int, per_process: int) -> tuple[float, int]:
    """Run the bare loop on drafts of a second tenant: (seconds, validations)."""
    from core.extensions import db
    from models import NumberingSequence

    tenant_id = create_tenant_user("BASE", "p5-base@bench.test")
    ids = _drafts(tenant_id, processes * per_process)
    sequence_id = db.session.query(NumberingSequence.id).filter_by(tenant_id=tenant_id).scalar()
    db.session.remove()
    seconds, numbers, _failed = _run_at_once(_baseline_worker, lambda i: (config, sequence_id, ids[i::processes]),
                                             processes)
    return seconds, len(numbers)


def _run_at_once(target, arguments, processes: int) -> tuple[float, list[int], list[int]]:
    """Start ``processes`` processes ``target(*arguments(i), ready, start, numbers)``, wait
    until every one has built its app and connected (under load that takes seconds:
    a fixed pause would time their start-up too), then start them at once:
    (seconds until the last one ends, the numbers taken, the failed exit codes)."""
    context = multiprocessing.get_context("spawn")
    manager = context.Manager()
    numbers, ready, start_event = manager.list(), manager.Queue(), manager.Event()
    workers = [context.Process(target=target, args=(*arguments(i), ready, start_event, numbers))
               for i in range(processes)]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=300)
    start = time.perf_counter()
    start_event.set()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    return elapsed, list(numbers), [worker.exitcode for worker in workers if worker.exitcode != 0]


def _time_shares(count: int = 200) -> dict[str, float]:
    """Where a validation's time goes (``harness.time_shares``): ``count`` validations one
    after the other in this process, on the drafts of a third tenant."""
    from core.extensions import db
    from rules.invoices import validate_invoice

    tenant_id = create_tenant_user("SHARE", "p5-share@bench.test")
    ids = _drafts(tenant_id, count)

    def validate_all():
        for invoice_id in ids:
            validate_invoice(invoice_id, tenant_id)
            db.session.commit()

    return time_shares(validate_all)


def _drafts(tenant_id: int, count: int) -> list[int]:
    from core.extensions import db
    from models import NumberingSequence, VatRate
    from models.invoices import Invoice, InvoiceLine
    from models.master_data import Client
    from rules.invoices import compute_totals

    from commands.seed import COMPANY
    from rules.settings import settings_for

    settings = settings_for(tenant_id)  # a complete company identity: the legal items validation checks
    for name, value in COMPANY.items():
        setattr(settings, name, value)
    client = Client(tenant_id=tenant_id, code="C1", name="Client", siren="552100554")
    vat = VatRate(tenant_id=tenant_id, code="T20", label="TVA 20 %", rate=Decimal("20"))
    db.session.add_all([client, vat, NumberingSequence(
        tenant_id=tenant_id, code="FAC", label="Factures", document_type="invoice", prefix="FA", padding=6,
        next_number=1, gapless=True)])
    db.session.flush()
    invoices = [Invoice(tenant_id=tenant_id, client_id=client.id, state="draft", lines=[
        InvoiceLine(tenant_id=tenant_id, label="Prestation", quantity=Decimal("1"), unit_price=Decimal("100"),
                    vat_rate=vat)]) for _ in range(count)]
    for invoice in invoices:
        compute_totals(invoice)  # as saving a draft does
    db.session.add_all(invoices)
    db.session.commit()
    return [invoice.id for invoice in invoices]


def run(dataset_name=None, repeat: int = 1, processes: int = PROCESSES, per_process: int = PER_PROCESS,
        report=print) -> dict:
    with bench_app() as (app, config):
        database = dialect_name()
        tenant_id = create_tenant_user("BENCH", "p5@bench.test")
        ids = _drafts(tenant_id, processes * per_process)
        elapsed, numbers, failed = _run_at_once(_worker, lambda i: (config, tenant_id, ids[i::processes]), processes)
        taken = sorted(numbers)
        baseline_s, baseline_count = _baseline(config, processes, per_process)
        shares = _time_shares()
    baseline_per_s = baseline_count / baseline_s if baseline_s else 0.0
    expected = processes * per_process
    duplicates = len(taken) - len(set(taken))
    gaps = len(set(range(1, expected + 1)) - set(taken))
    throughput = len(taken) / elapsed if elapsed else 0.0
    ratio = throughput / baseline_per_s if baseline_per_s else 0.0
    ok = not failed and duplicates == 0 and gaps == 0 and len(taken) == expected and (
        (throughput >= TARGET_PER_S and ratio >= TARGET_RATIO) or database != "postgresql")
    report(f"P5 validations ({database})  {len(taken)} in {elapsed:.2f} s  {throughput:.0f}/s "
           f"(target ≥ {TARGET_PER_S}/s on PostgreSQL)  baseline {baseline_per_s:.0f}/s  ratio {ratio:.2f}× "
           f"(target ≥ {TARGET_RATIO}×)  gaps {gaps}  duplicates {duplicates}"
           + ("" if ok else "  ** NOT MET **") + "\n" + " " * 19 + "time in (one process): " + describe_shares(shares))
    return {"database": database, "processes": processes, "validations": len(taken), "measured_s": round(elapsed, 3),
            "throughput_per_s": round(throughput, 1), "target": TARGET_PER_S, "gaps": gaps,
            "baseline_per_s": round(baseline_per_s, 1), "ratio": round(ratio, 3), "target_ratio": TARGET_RATIO,
            "duplicates": duplicates, "failed_processes": len(failed), "time_shares": shares, "ok": ok}
