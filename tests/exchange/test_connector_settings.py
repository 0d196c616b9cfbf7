"""Connector settings: folders confined to EXCHANGE_ROOT, secrets encrypted at rest
(key rotation), validation shared by the form and ``connectors create``."""
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from core import crypto
from core.extensions import db
from core.paths import FolderRefused, exchange_folder
from exchange.base import connector_secrets, save_connector
from models.exchange import Connector
from exchange_env import REPO_ROOT, flask_env


def _save(tenant_id, code="TST", **settings):
    return save_connector(tenant_id, "test", code, "", True, {k: str(v) for k, v in settings.items()})


@pytest.mark.parametrize("value", ["/etc", "../outside", "in/../../outside", "", "a\x00b"])
def test_folders_outside_the_exchange_root_are_refused(app_ctx, value):
    with pytest.raises(FolderRefused):
        exchange_folder(value)


def test_a_symlink_leading_out_of_the_root_is_refused(app, app_ctx, tmp_path):
    root = Path(app.config["EXCHANGE_ROOT"])
    root.mkdir(parents=True, exist_ok=True)
    link = root / "escape"
    if not link.exists():
        link.symlink_to(tmp_path)
    with pytest.raises(FolderRefused):
        exchange_folder("escape/in")


def test_folders_are_stored_relative_and_normalised(app, app_ctx):
    root = Path(app.config["EXCHANGE_ROOT"]).resolve()
    assert exchange_folder("./partners//acme/in/") == "partners/acme/in"
    assert exchange_folder(str(root / "partners" / "in")) == "partners/in"


def test_an_import_folder_of_another_connector_of_any_tenant_is_refused_at_save(app_ctx, tenants):
    connector, errors = _save(tenants["ACME"], import_folder="shared/in")
    assert not errors
    db.session.commit()
    again, errors = _save(tenants["BETA"], import_folder="./shared/in/")
    assert again is None and list(errors) == ["import_folder"]
    same_connector, errors = save_connector(tenants["ACME"], "test", "TST", "renamed", True,
                                            {"import_folder": "shared/in"}, connector)
    assert not errors  # its own folder is not a clash


@pytest.mark.parametrize("folders, refused", [
    ({"import_folder": "shared/in/archive"}, "import_folder"),   # it would read the other's archive again
    ({"import_folder": "shared"}, "import_folder"),              # it would hold the other's folder
    ({"import_folder": "shared/out"}, "import_folder"),          # the other writes its files there
    ({"import_folder": "p2/in", "export_folder": "shared/in"}, "export_folder"),
    ({"import_folder": "p2/in", "export_folder": "shared/in/sub"}, "export_folder"),
])
def test_folders_mixing_two_connectors_files_are_refused(app_ctx, tenants, folders, refused):
    first, errors = _save(tenants["ACME"], import_folder="shared/in", export_folder="shared/out")
    assert not errors
    db.session.commit()
    second, errors = _save(tenants["BETA"], code="TWO", **folders)
    assert second is None and list(errors) == [refused]


def test_neighbouring_folders_of_two_connectors_are_accepted(app_ctx, tenants):
    _first, errors = _save(tenants["ACME"], import_folder="shared/in", export_folder="shared/out")
    assert not errors
    db.session.commit()
    second, errors = _save(tenants["BETA"], code="TWO", import_folder="shared/in2", export_folder="shared/out")
    assert second is not None and not errors  # two connectors may write into one export folder


def test_every_problem_is_returned_at_once_and_nothing_is_saved(app_ctx, tenants):
    connector, errors = _save(tenants["ACME"], code="bad code!", export_folder="../x", documents="many",
                              unknown="1")
    assert connector is None
    assert set(errors) == {"code", "export_folder", "documents", "unknown"}
    assert db.session.query(Connector).count() == 0


def test_secrets_are_encrypted_at_rest_and_kept_when_left_empty(app_ctx, tenants):
    connector, _ = _save(tenants["ACME"], api_key="s3cret-API-key")
    db.session.commit()
    stored = db.session.execute(db.text("SELECT secrets FROM connectors")).scalar()
    assert "s3cret" not in stored and connector_secrets(connector) == {"api_key": "s3cret-API-key"}
    save_connector(tenants["ACME"], "test", "TST", "", True, {"api_key": ""}, connector)
    db.session.commit()
    assert connector_secrets(connector) == {"api_key": "s3cret-API-key"}


def test_keys_rotate_with_multifernet(app, app_ctx):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    saved = app.config.get("PASSERELLE_ENCRYPTION_KEY")
    try:
        app.config["PASSERELLE_ENCRYPTION_KEY"] = old
        token = crypto.encrypt_secrets({"api_key": "k"})
        app.config["PASSERELLE_ENCRYPTION_KEY"] = f"{new},{old}"
        assert crypto.decrypt_secrets(token) == {"api_key": "k"}
        rotated = crypto.rotate(token)
        app.config["PASSERELLE_ENCRYPTION_KEY"] = new
        assert crypto.decrypt_secrets(rotated) == {"api_key": "k"}
        with pytest.raises(crypto.SecretsUnavailable):
            crypto.decrypt_secrets(token)
    finally:
        app.config["PASSERELLE_ENCRYPTION_KEY"] = saved


def test_production_refuses_a_key_derived_from_the_secret_key(app, app_ctx):
    app.config["PASSERELLE_PRODUCTION"] = True
    try:
        with pytest.raises(crypto.SecretsUnavailable):
            crypto.encrypt_secrets({"api_key": "k"})
    finally:
        app.config["PASSERELLE_PRODUCTION"] = False


def test_connectors_create_validates_as_the_form_and_never_prints_secrets(app, app_ctx, tenants):
    command = [sys.executable, "-m", "flask", "--app", "app", "connectors", "create", "--tenant", "ACME",
               "--kind", "test", "--code", "CLI"]
    ok = subprocess.run(command + ["--set", "import_folder=cli/in", "--set", "api_key=never-shown-42"],
                        cwd=REPO_ROOT, env=flask_env(app), capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "never-shown-42" not in ok.stdout + ok.stderr
    refused = subprocess.run(command[:-1] + ["CLI2", "--set", "import_folder=/etc", "--set", "nope=1"],
                             cwd=REPO_ROOT, env=flask_env(app), capture_output=True, text=True)
    assert refused.returncode == 1
    assert "import_folder" in refused.stderr and "nope" in refused.stderr
    db.session.expire_all()
    assert [c.code for c in db.session.query(Connector)] == ["CLI"]
