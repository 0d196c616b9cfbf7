"""The table catalogue: every list of ``interfaces.md`` that exists is there under its URL
name, with its model and fields, and the export command reads it."""
from core.extensions import db
from models import OperationCode
from models.exchange import Connector, SyncRun
from spreadsheets import catalog

URL_NAMES_AVAILABLE = ("operation-codes", "vat-rates", "clients", "articles", "invoices", "payments",
                       "connectors", "sync-runs", "audit-log")


def test_every_list_is_in_the_catalogue_with_its_model_and_fields(app):
    with app.app_context():
        names = catalog.names()
        assert set(URL_NAMES_AVAILABLE) <= set(names)
        assert catalog.table("operation-codes").model is OperationCode
        assert catalog.table("connectors").model is Connector and catalog.table("sync-runs").model is SyncRun
        assert "secrets" not in catalog.table("connectors").fields
        assert catalog.table("operation-codes").fields[0] == "code"
        assert catalog.table("nothing-here") is None


def test_the_export_command_reads_the_catalogue(app, tenants, tmp_path):
    with app.app_context():
        db.session.add(OperationCode(tenant_id=tenants["ACME"], code="VTE", label="Vente", document_type="invoice"))
        db.session.commit()
    output = tmp_path / "codes.xlsx"
    result = app.test_cli_runner().invoke(args=["export", "operation-codes", "--tenant", "ACME", "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert output.stat().st_size > 0
    unknown = app.test_cli_runner().invoke(args=["export", "nothing-here", "--tenant", "ACME", "-o", str(output)])
    assert unknown.exit_code != 0 and "unknown resource" in unknown.output
