"""CSV exchange files: told apart by name and header, encodings, separators, files
being written, archive/ and rejected/ with the reason, retention, and hostile files."""
import os
import time
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.extensions import db
from exchange import runs
from models import Client, DeliveryNote
from models.pending import PendingDocument, PendingParty

import csv_env

ROW = "R1;18/11/2026;TRFVJJ;Jio;Virement;1;SRV-FRAIS;{label};1;10,50;20"


@pytest.fixture
def ctx(app, tenants):
    csv_env.clean_root(app)
    with app.app_context():
        tenant_id = tenants["ACME"]
        connector = csv_env.mapped_connector(tenant_id)
        db.session.add(Client(tenant_id=tenant_id, code="TRFVJJ", name="Jio"))
        db.session.commit()
        yield {"tenant": tenant_id, "connector": connector, "folder": csv_env.folder()}
        db.session.remove()


def _receive(ctx, dry_run=False):
    connector = db.session.get(type(ctx["connector"]), ctx["connector"].id)
    run_id = runs.run_now(connector, "receive", dry_run=dry_run)
    db.session.rollback()
    return runs.summary(run_id)


def _file_item(report, name):
    return next(item for item in report["items"] if item["type"] == "file" and item["identifier"] == name)


def _rejected(ctx, name, content: bytes, reason: str):
    (ctx["folder"] / name).write_bytes(content)
    report = _receive(ctx)
    item = _file_item(report, name)
    assert item["state"] == "error" and reason in item["message"], item
    assert (ctx["folder"] / "rejected" / name).exists() and not (ctx["folder"] / name).exists()
    assert db.session.scalar(select(func.count(PendingDocument.id))) == 0
    return item


def test_a_file_of_another_name_is_rejected_with_its_reason(ctx):
    _rejected(ctx, "Factures_1.csv", csv_env.documents_file([ROW.format(label="x")]).encode(),
              "Fichier inconnu : un fichier du partenaire s'appelle Documents_… ou Tiers_…")


def test_a_documents_file_with_a_parties_header_is_rejected(ctx):
    _rejected(ctx, "Documents_1.csv", (csv_env.PARTIES_HEADER + "\nCLIENT;A;B;;;;;;\n").encode(),
              "Colonnes absentes de l'en-tête : Reference, Date")


def test_files_being_written_are_left_alone(ctx):
    for name in ("Documents_1.csv.tmp", "Documents_2.csv.part", ".Documents_3.csv"):
        (ctx["folder"] / name).write_text(csv_env.documents_file([ROW.format(label="x")]))
    report = _receive(ctx)
    assert report["items"] == []
    assert sorted(os.listdir(ctx["folder"])) == [".Documents_3.csv", "Documents_1.csv.tmp", "Documents_2.csv.part"]


def test_encodings_line_endings_decimals_and_dates(ctx):
    rows = ["A1;18/11/2026;TRFVJJ;Jio;Chèques;1;SRV-FRAIS;Études été;1;10,50;20",
            "A2;2026-11-19;TRFVJJ;Jio;Chèques;1;SRV-FRAIS;Études été;2;1 234.5;20"]
    (ctx["folder"] / "Documents_utf8.csv").write_bytes(("\n".join([csv_env.DOCUMENTS_HEADER, rows[0]]) + "\n").encode())
    (ctx["folder"] / "Documents_cp1252.csv").write_bytes(csv_env.documents_file([rows[1]]).encode("cp1252"))
    (ctx["folder"] / "Documents_bom.csv").write_bytes(
        b"\xef\xbb\xbf" + csv_env.documents_file([rows[0].replace("A1", "A3")]).encode())
    report = _receive(ctx)
    assert report["status"] == "success", report
    notes = {note.external_reference: note for note in db.session.scalars(select(DeliveryNote))}
    assert sorted(notes) == ["A1", "A2", "A3"]
    assert {note.lines[0].label for note in notes.values()} == {"Études été"}
    assert notes["A2"].payment_method == "Chèques" and notes["A2"].total_excl_vat == Decimal("2469.00")
    assert notes["A2"].document_date.isoformat() == "2026-11-19"


def test_mixed_encodings_in_one_file_each_line_read_right(ctx):
    content = (csv_env.DOCUMENTS_HEADER + "\r\n" + ROW.format(label="Réparé") + "\r\n").encode() + \
        ROW.format(label="Déjà vu").replace("R1", "R2").encode("cp1252") + b"\r\n"
    (ctx["folder"] / "Documents_mixed.csv").write_bytes(content)
    assert _receive(ctx)["status"] == "success"
    labels = {note.external_reference: note.lines[0].label for note in db.session.scalars(select(DeliveryNote))}
    assert labels == {"R1": "Réparé", "R2": "Déjà vu"}


@pytest.mark.parametrize("name, content, reason", [
    ("Documents_bin.csv", bytes(range(256)) * 4, "données binaires"),
    ("Documents_comma.csv", csv_env.DOCUMENTS_HEADER.replace(";", ",").encode() + b"\nR1,18/11/2026\n",
     "Le séparateur doit être « ; »"),
    ("Documents_missing.csv", b"Reference;Date;CodeTiers\nR1;18/11/2026;X\n",
     "Colonnes absentes de l'en-tête : NomTiers, ModeReglement"),
    ("Documents_empty.csv", b"", "Le fichier est vide."),
    ("Tiers_undefined.csv", b"Type;Code\x81;Nom\n", "ni du texte UTF-8 ni du Windows-1252"),
])
def test_hostile_files_are_rejected_with_their_reason(ctx, name, content, reason):
    _rejected(ctx, name, content, reason)


def test_a_header_only_file_is_archived_with_a_warning(ctx):
    (ctx["folder"] / "Documents_empty.csv").write_text(csv_env.DOCUMENTS_HEADER + "\r\n")
    item = _file_item(_receive(ctx), "Documents_empty.csv")
    assert item["state"] == "warning" and item["message"] == "Le fichier ne contient aucune ligne à lire."
    assert (ctx["folder"] / "archive" / "Documents_empty.csv").exists()


def test_a_truncated_file_loses_its_last_document_only(ctx):
    content = csv_env.documents_file([ROW.format(label="complet")]) + "R2;18/11/2026;TRFVJJ;Jio;Vir"
    (ctx["folder"] / "Documents_cut.csv").write_text(content)
    report = _receive(ctx)
    errors = [item for item in report["items"] if item["state"] == "error"]
    assert [item["message"] for item in errors] == [
        "La ligne 3 a 5 colonnes, 11 attendues (ligne tronquée ?)."]
    assert [note.external_reference for note in db.session.scalars(select(DeliveryNote))] == ["R1"]


def test_a_bad_document_does_not_stop_the_others(ctx):
    rows = [ROW.format(label="bon"), "R2;31/02/2026;TRFVJJ;Jio;;1;SRV-FRAIS;x;1;10;20",
            "R3;18/11/2026;TRFVJJ;Jio;;1;SRV-FRAIS;x;abc;10;20", ROW.format(label="bon").replace("R1", "R4")]
    (ctx["folder"] / "Documents_1.csv").write_text(csv_env.documents_file(rows))
    report = _receive(ctx)
    errors = {item["identifier"]: item["message"] for item in report["items"] if item["state"] == "error"}
    assert errors == {"R2": "Ligne 3 : « 31/02/2026 » n'est pas une date (JJ/MM/AAAA).",
                      "R3": "Ligne 4 : « abc » n'est pas un nombre."}
    assert sorted(note.external_reference for note in db.session.scalars(select(DeliveryNote))) == ["R1", "R4"]


def test_formula_text_and_script_labels_are_kept_as_plain_text(ctx):
    rows = [ROW.format(label='=HYPERLINK("http://evil.example","x")'),
            ROW.format(label="<script>alert(1)</script>").replace("R1", "R2")]
    (ctx["folder"] / "Documents_1.csv").write_text(csv_env.documents_file(rows))
    _receive(ctx)
    labels = {note.external_reference: note.lines[0].label for note in db.session.scalars(select(DeliveryNote))}
    assert labels == {"R1": '=HYPERLINK("http://evil.example","x")', "R2": "<script>alert(1)</script>"}


def test_a_file_name_with_dots_stays_in_its_folder(ctx):
    name = "Documents_..%2F..%2Fescape..csv"
    (ctx["folder"] / name).write_text(csv_env.documents_file([ROW.format(label="x")]))
    assert _receive(ctx)["status"] == "success"
    assert (ctx["folder"] / "archive" / name).exists()
    assert sorted(os.listdir(ctx["folder"].parent)) == ["in"]


def test_a_symbolic_link_is_rejected_and_its_target_left_alone(ctx, tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text(csv_env.documents_file([ROW.format(label="x")]))
    (ctx["folder"] / "Documents_link.csv").symlink_to(outside)
    item = _file_item(_receive(ctx), "Documents_link.csv")
    assert item["state"] == "error" and "fichier ordinaire" in item["message"]
    assert outside.exists() and db.session.scalar(select(func.count(DeliveryNote.id))) == 0


def test_a_file_above_the_limit_is_rejected_unread(app, ctx, tmp_path):
    path = ctx["folder"] / "Documents_big.csv"
    with path.open("wb") as out:  # 50 MB, sparse: written in no time
        out.write(csv_env.documents_file([ROW.format(label="x")]).encode())
        out.truncate(50 * 1024 * 1024)
    saved = app.config["CSV_EXCHANGE_MAX_BYTES"]
    app.config["CSV_EXCHANGE_MAX_BYTES"] = 40 * 1024 * 1024
    try:
        started = time.monotonic()
        item = _file_item(_receive(ctx), "Documents_big.csv")
        assert time.monotonic() - started < 5
    finally:
        app.config["CSV_EXCHANGE_MAX_BYTES"] = saved
    assert item["message"] == "Rejeté : Le fichier est trop gros : 50.0 Mo, au plus 40.0 Mo."
    assert (ctx["folder"] / "rejected" / "Documents_big.csv").exists()


def test_old_archived_and_rejected_files_are_deleted_after_the_retention(ctx):
    for sub in ("archive", "rejected"):
        (ctx["folder"] / sub).mkdir(exist_ok=True)
        for name, age_days in (("old.csv", 91), ("recent.csv", 89)):
            path = ctx["folder"] / sub / name
            path.write_text("x")
            stamp = time.time() - age_days * 86400
            os.utime(path, (stamp, stamp))
    _receive(ctx)
    for sub in ("archive", "rejected"):
        assert sorted(os.listdir(ctx["folder"] / sub)) == ["recent.csv"]


def test_the_retention_counts_from_the_archiving_not_from_the_partner_s_time_stamp(ctx):
    """A partner's upload may keep its file's old time stamp: archived or rejected today,
    the file stays the retention's days."""
    csv_env.drop_samples()
    (ctx["folder"] / "Factures_1.csv").write_text("x")
    stamp = time.time() - 200 * 86400
    for name in ("Tiers_20261120.csv", "Factures_1.csv"):
        os.utime(ctx["folder"] / name, (stamp, stamp))
    _receive(ctx)
    _receive(ctx)  # the next run purges what is older than the retention
    assert sorted(os.listdir(ctx["folder"] / "archive")) == ["Documents_20261120.csv", "Tiers_20261120.csv"]
    assert os.listdir(ctx["folder"] / "rejected") == ["Factures_1.csv"]
    assert time.time() - (ctx["folder"] / "archive" / "Tiers_20261120.csv").stat().st_mtime < 3600


def test_a_dry_run_writes_nothing_moves_nothing_and_reports_the_same(ctx):
    csv_env.drop_samples()
    dry = _receive(ctx, dry_run=True)
    assert sorted(os.listdir(ctx["folder"])) == ["Documents_20261120.csv", "Tiers_20261120.csv"]
    assert db.session.scalar(select(func.count(DeliveryNote.id))) == 0
    assert db.session.scalar(select(func.count(PendingParty.id))) == 0
    real = _receive(ctx)

    def shape(report):
        return [(item["type"], item["identifier"], item["state"]) for item in report["items"]]
    assert shape(dry) == shape(real) and dry["counts"] == real["counts"]
    assert db.session.scalar(select(func.count(DeliveryNote.id))) == 3
