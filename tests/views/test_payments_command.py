"""``flask --app app payments import``: JSON rows, exit codes, dry run, one batch."""
import json
from datetime import date

import pytest

from core.extensions import db
from models import Payment, PaymentImportBatch
from tests.rules.payment_factory import payment_invoices, sample_path, xlsx_file


@pytest.fixture
def invoices(app, tenants):
    with app.app_context():
        return payment_invoices(tenants["ACME"])


def run(app, *args):
    return app.test_cli_runner().invoke(args=["payments", "import", *args])  # stdout and stderr apart


def counts(app):
    with app.app_context():
        return db.session.query(Payment).count(), db.session.query(PaymentImportBatch).count()


def test_json_dry_run_of_the_sample_writes_nothing(app, tenants, invoices):
    result = run(app, "--tenant", "acme", sample_path(), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"row": 2, "status": "ok", "alerts": []},
        {"row": 3, "status": "ok", "alerts": []},
        {"row": 4, "status": "blocking", "alerts": ["unknown_invoice"]},
        {"row": 5, "status": "blocking", "alerts": ["duplicate"]},
        {"row": 6, "status": "blocking", "alerts": ["bad_date", "bad_amount"]},
    ]
    assert counts(app) == (0, 0)


def test_import_writes_the_rows_without_red_alert_as_one_batch(app, tenants, invoices, tmp_path):
    path = tmp_path / "reglements.xlsx"
    path.write_bytes(xlsx_file([["FA000001", date(2026, 11, 5), 10, "Bitcoin"], ["FA999999", date(2026, 11, 5), 10],
                                ["FA000002", "05/11/2026", "20,5", "virement"]]))
    result = run(app, "--tenant", "ACME", str(path), "--json")
    assert result.exit_code == 0
    assert [(row["row"], row["status"], row["alerts"]) for row in json.loads(result.stdout)] == [
        (2, "warning", ["unknown_method"]), (3, "blocking", ["unknown_invoice"]), (4, "ok", [])]
    assert counts(app) == (2, 1)
    text = run(app, "--tenant", "ACME", str(path))  # again: duplicates, nothing imported
    assert text.exit_code == 0 and "duplicate" in text.output and "nothing to import" in text.output
    assert counts(app) == (2, 1)


@pytest.mark.parametrize("content", [b"not a workbook", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, None])
def test_an_unreadable_file_exits_1_with_the_message_on_stderr(app, tenants, invoices, tmp_path, content):
    path = tmp_path / "bad.xlsx"
    if content is not None:
        path.write_bytes(content)
    result = run(app, "--tenant", "ACME", str(path), "--json")
    assert result.exit_code == 1
    assert result.stdout == "" and "bad.xlsx" in result.stderr
    assert counts(app) == (0, 0)


def test_a_file_without_header_exits_1(app, tenants, invoices, tmp_path):
    path = tmp_path / "noheader.xlsx"
    path.write_bytes(xlsx_file([["FA000001", 10]], headers=["Numéro", "Somme"]))
    result = run(app, "--tenant", "ACME", str(path))
    assert result.exit_code == 1 and result.stderr


def test_seed_demo_adds_invoices_payments_and_the_demo_file_once(app, tmp_path):
    import os

    from commands.seed import DEMO_PAYMENTS_FILE, seed_demo, write_demo_payments_file
    from models import Invoice, Tenant

    with app.app_context():
        seed_demo()
        seed_demo()
        tenant = db.session.query(Tenant).filter_by(code="DEMO").one()
        assert db.session.query(Invoice).filter_by(tenant_id=tenant.id, state="validated").count() >= 5
        assert db.session.query(Payment).filter_by(tenant_id=tenant.id).count() == 5
        assert db.session.query(PaymentImportBatch).filter_by(tenant_id=tenant.id).count() == 1
        assert os.path.exists(os.path.join(app.instance_path, *DEMO_PAYMENTS_FILE))
        path = tmp_path / "demo.xlsx"
        write_demo_payments_file(tenant.id, str(path))
    result = run(app, "--tenant", "DEMO", str(path), "--dry-run", "--json")
    statuses = [row["status"] for row in json.loads(result.stdout)]
    assert statuses.count("ok") >= 2 and "warning" in statuses and "blocking" in statuses


def test_export_commands_of_the_payment_lists(app, tenants, invoices, tmp_path):
    import openpyxl

    path = tmp_path / "reglements.xlsx"
    path.write_bytes(xlsx_file([["FA000001", date(2026, 11, 5), 10, "chèque", "", "=1+1"]]))
    assert run(app, "--tenant", "ACME", str(path)).exit_code == 0
    for resource, rows in (("payments", 2), ("payment-batches", 2)):
        output = tmp_path / f"{resource}.xlsx"
        result = app.test_cli_runner().invoke(args=["export", resource, "--tenant", "ACME", "-o", str(output)])
        assert result.exit_code == 0, result.output
        sheet = openpyxl.load_workbook(output).worksheets[0]
        assert sheet.max_row == rows
    payments_sheet = openpyxl.load_workbook(tmp_path / "payments.xlsx").worksheets[0]
    assert payments_sheet.cell(2, 1).value == "FA000001" and payments_sheet.cell(2, 5).value == 10
