"""A tenant from a template (parameters.md): parameters, dossier settings and connectors
copied in one transaction, relations re-pointed at the copies, the template unchanged."""
import copy as copy_module

import pytest
from sqlalchemy import func, select

from commands.seed import seed_demo
from core.extensions import db
from core.crypto import encrypt_secrets
from models import (
    ArticleFamily, AuditLogEntry, Client, Connector, DossierSettings, Membership, NumberingSequence,
    OperationCode, Tenant,
)
from rules.templates import PARAMETER_MODELS
from tests.conftest import PASSWORD

SETTINGS_SKIPPED = {"id", "tenant_id"}


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo()
        demo = db.session.query(Tenant).filter_by(code="DEMO").one()
        family = db.session.query(ArticleFamily).filter_by(tenant_id=demo.id).first()
        db.session.add(ArticleFamily(tenant_id=demo.id, code="SUBFAM", label="Sous-famille", parent=family))
        db.session.add(Connector(tenant_id=demo.id, code="COPYME", label="À copier", kind="test", enabled=True,
                                 settings={"import_folder": "in/demo", "export_folder": "out/demo",
                                           "base_url": "http://peer", "documents": 3},
                                 secrets=encrypt_secrets({"api_key": "s3cret"}), import_folder="in/demo"))
        db.session.commit()
        db.session.remove()


def _snapshot(tenant_id: int) -> dict:
    """Every parameter row by code, relations by the code they point at, ids left out."""
    snapshot = {}
    for model in PARAMETER_MODELS:
        rows = {}
        for row in db.session.query(model).filter_by(tenant_id=tenant_id):
            values = {}
            for column in model.__table__.columns:
                if column.name in ("id", "tenant_id"):
                    continue
                value = getattr(row, column.key)
                if column.foreign_keys and value is not None:
                    target = next(iter(column.foreign_keys)).column.table
                    value = db.session.execute(select(target.c.code).where(target.c.id == value)).scalar()
                values[column.name] = value
            rows[row.code] = values
        snapshot[model.__tablename__] = rows
    return snapshot


def _settings(tenant_id: int) -> dict:
    table = DossierSettings.__table__
    row = db.session.execute(select(table).where(table.c.tenant_id == tenant_id)).one()._mapping
    values = {}
    for column in table.columns:
        if column.name in SETTINGS_SKIPPED:
            continue
        value = row[column.name]
        if column.foreign_keys and value is not None:
            target = next(iter(column.foreign_keys)).column.table
            value = db.session.execute(select(target.c.code, target.c.tenant_id).where(target.c.id == value)).one()
            value = (value.code, value.tenant_id == tenant_id)
        values[column.name] = value
    return values


def test_the_command_copies_parameters_settings_and_connectors(app, demo, tenants):
    with app.app_context():
        demo_id = db.session.query(Tenant.id).filter_by(code="DEMO").scalar()
        before, settings_before = _snapshot(demo_id), _settings(demo_id)
        beta_before = _snapshot(tenants["BETA"])
        audit_before = db.session.query(func.count(AuditLogEntry.id)).filter_by(tenant_id=demo_id).scalar()
        db.session.remove()
    result = app.test_cli_runner().invoke(args=["tenants", "create", "--code", "neuf", "--name", "Neuf SA",
                                                "--from", "demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        new_id = db.session.query(Tenant.id).filter_by(code="NEUF").scalar()
        copy = _snapshot(new_id)
        expected = copy_module.deepcopy(before)
        for values in expected["numbering_sequences"].values():  # the new tenant has no documents yet
            values.update(next_number=1, highest_number_used=0, last_document_date=None)
        assert copy == expected and sum(map(len, copy.values())) > 30
        assert copy["article_families"]["SUBFAM"]["parent_id"] is not None  # a self-reference, re-pointed
        # Every relation of a copied row points into the new tenant, never at the template's rows.
        for code, in db.session.query(OperationCode.code).filter_by(tenant_id=new_id):
            row = db.session.query(OperationCode).filter_by(tenant_id=new_id, code=code).one()
            assert row.credit_note_operation_code is None or row.credit_note_operation_code.tenant_id == new_id
        settings = _settings(new_id)
        assert {name: value[0] if isinstance(value, tuple) else value for name, value in settings.items()} == {
            name: value[0] if isinstance(value, tuple) else value for name, value in settings_before.items()}
        assert all(value[1] for value in settings.values() if isinstance(value, tuple))
        connector = db.session.query(Connector).filter_by(tenant_id=new_id, code="COPYME").one()
        assert (connector.enabled, connector.secrets, connector.import_folder) == (False, None, None)
        assert connector.settings == {"import_folder": None, "export_folder": None, "base_url": None, "documents": 3}
        assert not db.session.query(Client).filter_by(tenant_id=new_id).count()  # master data stays behind
        # The template and the other tenants are untouched; the copy is audited once.
        assert _snapshot(demo_id) == before and _settings(demo_id) == settings_before
        assert _snapshot(tenants["BETA"]) == beta_before
        assert db.session.query(func.count(AuditLogEntry.id)).filter_by(tenant_id=demo_id).scalar() == audit_before
        copies = db.session.query(AuditLogEntry).filter_by(tenant_id=new_id, action="copy").all()
        assert len(copies) == 1 and "DEMO" in copies[0].new_value
        assert db.session.query(AuditLogEntry).filter_by(tenant_id=new_id).count() == 1  # not row by row
    again = app.test_cli_runner().invoke(args=["tenants", "create", "--code", "NEUF", "--name", "x", "--from", "DEMO"])
    unknown = app.test_cli_runner().invoke(args=["tenants", "create", "--code", "AUTRE", "--name", "x",
                                                 "--from", "NOPE"])
    assert again.exit_code != 0 and unknown.exit_code != 0
    with app.app_context():
        assert not db.session.query(Tenant).filter_by(code="AUTRE").count()


def test_the_tenant_screen_copies_from_a_tenant_the_admin_administers(app, demo, tenants, browser):
    from rules.tenancy import create_user
    with app.app_context():
        demo_tenant = db.session.query(Tenant).filter_by(code="DEMO").one()
        acme = db.session.get(Tenant, tenants["ACME"])
        create_user("boss@acme.test", PASSWORD, [(acme, "admin"), (demo_tenant, "admin")])
        db.session.commit()
        demo_id = demo_tenant.id
    admin = browser("boss@acme.test")
    form = admin.get("/admin/tenants/new/").get_data(as_text=True)
    assert 'name="copy_from"' in form and "DEMO" in form and "BETA" not in form
    response = admin.post("/admin/tenants/new/", data={"code": "COPIE", "name": "Copie", "copy_from": demo_id})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    refused = admin.post("/admin/tenants/new/", data={"code": "VOLE", "name": "x", "copy_from": tenants["BETA"]})
    assert refused.status_code == 200  # not a tenant he administers: not a choice
    with app.app_context():
        copy = db.session.query(Tenant).filter_by(code="COPIE").one()
        boss = db.session.query(Membership).filter_by(tenant_id=copy.id).one()
        assert boss.role == "admin" and boss.user.email == "boss@acme.test"
        assert db.session.query(NumberingSequence).filter_by(tenant_id=copy.id).count() == \
            db.session.query(NumberingSequence).filter_by(tenant_id=demo_id).count() > 0
        assert not db.session.query(Tenant).filter_by(code="VOLE").count()
        entry = db.session.query(AuditLogEntry).filter_by(tenant_id=copy.id, action="copy").one()
        assert entry.user_email == "boss@acme.test"
