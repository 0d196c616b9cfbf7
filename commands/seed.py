"""``seed-demo``: the demo tenant DEMO with one user per role and realistic French parameters."""
from decimal import Decimal

import click
from flask.cli import with_appcontext

from core.audit import audit_actor
from core.extensions import db
from models import (
    AdditionalCostTable, ArticleFamily, ClientFamily, Depot, DocumentTitle, DossierSettings,
    Establishment, NumberingSequence, OperationCode, PriceCategory, ProductNature, Sector,
    SupplierFamily, Tenant, TextCode, Unit, VatRate,
)
from rules.tenancy import create_tenant, create_user

DEMO_PASSWORD = "demo-passerelle"
DEMO_USERS = (
    ("admin@demo.test", "admin", "Alice Administratrice"),
    ("consultant@demo.test", "consultant", "Claude Consultant"),
    ("backoffice@demo.test", "backoffice", "Bernard Backoffice"),
    ("viewer@demo.test", "viewer", "Valérie Lectrice"),
)

SIMPLE_TABLES = {
    Unit: [("U", "Unité"), ("H", "Heure"), ("J", "Jour"), ("M", "Mètre linéaire"), ("M2", "Mètre carré"),
           ("M3", "Mètre cube"), ("KG", "Kilogramme"), ("FF", "Forfait")],
    PriceCategory: [("PUB", "Tarif public"), ("PRO", "Tarif professionnel"), ("GC", "Grands comptes")],
    Depot: [("DEP-LYO", "Dépôt de Lyon"), ("DEP-GRE", "Dépôt de Grenoble")],
    Sector: [("LYON", "Lyon Métropole"), ("ISERE", "Isère"), ("SAVOIE", "Savoie"), ("AIN", "Ain")],
    ClientFamily: [("PART", "Particuliers"), ("ENTR", "Entreprises"), ("COLL", "Collectivités"),
                   ("BAIL", "Bailleurs sociaux")],
    SupplierFamily: [("NEG", "Négoce matériaux"), ("SST", "Sous-traitants"), ("LOC", "Loueurs de matériel")],
}
DOCUMENT_TITLES = [
    ("DEV", "Devis", "quote"), ("DTX", "Devis travaux", "works_quote"), ("DPR", "Devis prospect", "quote"),
    ("CDE", "Confirmation de commande", "order"), ("BL", "Bon de livraison", "delivery_note"),
    ("FAC", "Facture", "invoice"), ("AVO", "Avoir", "credit_note"), ("ACP", "Facture d'acompte", "down_payment"),
    ("SIT", "Situation de travaux", "progress_invoice"),
]
# code, label, type, billable, title, credit-note code
OPERATION_CODES = [
    ("AV", "Avoir sur facture", "credit_note", True, "AVO", None),
    ("AVA", "Avoir sur acompte", "credit_note", True, "AVO", None),
    ("FA", "Facture directe", "invoice", True, "FAC", "AV"),
    ("FS", "Facture de situation groupée", "invoice", True, "SIT", "AV"),
    ("FD", "Facture de situation détaillée", "invoice", True, "SIT", "AV"),
    ("FF", "Facture de fin de travaux", "invoice", True, "FAC", "AV"),
    ("AC", "Facture d'acompte", "down_payment", True, "ACP", "AVA"),
    ("DE", "Devis", "quote", False, "DEV", None),
    ("CO", "Commande client", "order", False, "CDE", None),
    ("OO", "Ordre opérationnel", "order", False, "CDE", None),
    ("BI", "Bon d'intervention", "delivery_note", False, "BL", None),
]
# code, label, document type, establishment, prefix, gapless
SEQUENCES = [
    ("DTX", "Devis travaux", "works_quote", None, "DT", False),
    ("DEV", "Devis", "quote", None, "DV", False),
    ("CDE", "Commandes", "order", None, "CD", False),
    ("BL", "Bons de livraison", "delivery_note", None, "BL", False),
    ("FAC", "Factures", "invoice", None, "FA", True),
    ("FAC-GRE", "Factures agence de Grenoble", "invoice", "GRE", "FG", True),
    ("AVO", "Avoirs", "credit_note", None, "AV", True),
    ("INT", "Interventions", "intervention", None, "IN", False),
    ("EQP", "Équipements", "equipment", None, "EQ", False),
]
NATURES = [
    ("4MO", "Main-d'œuvre", None), ("4MOS", "Main-d'œuvre spécialisée", Decimal("1.15")),
    ("4MOD", "Main-d'œuvre de dépannage", None), ("6FO", "Fournitures", None),
    ("6MA", "Matériaux", None), ("6LO", "Location de matériel", Decimal("1.05")),
    ("REV", "Révision de prix", None), ("RG", "Retenue de garantie", None),
]
FAMILIES = [
    ("ELEC", "Électricité", None), ("ELEC-CAB", "Câbles et conduits", "ELEC"),
    ("ELEC-TAB", "Tableaux et protections", "ELEC"), ("PLOM", "Plomberie", None),
    ("PLOM-SAN", "Sanitaires", "PLOM"), ("CVC", "Chauffage, ventilation, climatisation", None),
    ("CVC-PAC", "Pompes à chaleur", "CVC"), ("MO", "Main-d'œuvre", None),
]
VAT_RATES = [("T20", "TVA normale 20 %", "20"), ("T10", "TVA intermédiaire 10 %", "10"),
             ("T55", "TVA réduite 5,5 %", "5.5"), ("T0", "Exonéré de TVA", "0")]


def _by_code(model, tenant_id):
    return {row.code: row for row in db.session.query(model).filter_by(tenant_id=tenant_id)}


def _add_parameters(tenant_id: int) -> None:
    add = db.session.add
    for model, rows in SIMPLE_TABLES.items():
        for code, label in rows:
            add(model(tenant_id=tenant_id, code=code, label=label))
    for code, label, kind in DOCUMENT_TITLES:
        add(DocumentTitle(tenant_id=tenant_id, code=code, label=label, document_type=kind,
                          print_mask=f"modele_{code.lower()}.odt"))
    add(Establishment(tenant_id=tenant_id, code="LYON", label="Siège de Lyon", address="12 rue de la Part-Dieu",
                      postcode="69003", city="Lyon"))
    add(Establishment(tenant_id=tenant_id, code="GRE", label="Agence de Grenoble", address="5 avenue Alsace-Lorraine",
                      postcode="38000", city="Grenoble"))
    for code, label, overhead in NATURES:
        add(ProductNature(tenant_id=tenant_id, code=code, label=label, overhead_coefficient=overhead))
    for code, label, rate in VAT_RATES:
        add(VatRate(tenant_id=tenant_id, code=code, label=label, rate=Decimal(rate)))
    add(TextCode(tenant_id=tenant_id, code="CGV", label="Conditions générales de vente",
                 body="Nos devis sont valables 30 jours. Paiement à 30 jours fin de mois. "
                      "Pénalités de retard : trois fois le taux d'intérêt légal."))
    add(TextCode(tenant_id=tenant_id, code="GAR", label="Garantie décennale",
                 body="Assurance décennale n° 1234567 auprès de la SMABTP."))
    add(AdditionalCostTable(tenant_id=tenant_id, code="STD", label="Postes complémentaires standard",
                            lines="Déplacement\nFrais de chantier\nÉvacuation des déchets\nNettoyage de fin de chantier"))
    db.session.flush()

    titles = _by_code(DocumentTitle, tenant_id)
    families = _by_code(ArticleFamily, tenant_id)
    for code, label, parent in FAMILIES:
        family = ArticleFamily(tenant_id=tenant_id, code=code, label=label, parent=families.get(parent))
        add(family)
        families[code] = family
    codes = {}
    for code, label, kind, billable, title, credit_note in OPERATION_CODES:
        codes[code] = OperationCode(tenant_id=tenant_id, code=code, label=label, document_type=kind,
                                    billable=billable, document_title=titles[title],
                                    credit_note_operation_code=codes.get(credit_note))
        add(codes[code])
    establishments = _by_code(Establishment, tenant_id)
    for code, label, kind, establishment, prefix, gapless in SEQUENCES:
        add(NumberingSequence(tenant_id=tenant_id, code=code, label=label, document_type=kind,
                              establishment=establishments.get(establishment), prefix=prefix, padding=6,
                              next_number=1, gapless=gapless))
    db.session.flush()


def _configure_settings(tenant_id: int) -> None:
    settings = db.session.query(DossierSettings).filter_by(tenant_id=tenant_id).one()
    codes = _by_code(OperationCode, tenant_id)
    titles = _by_code(DocumentTitle, tenant_id)
    units = _by_code(Unit, tenant_id)
    natures = _by_code(ProductNature, tenant_id)
    settings.works_quote_prefix = "DT"
    settings.quick_entry_prefix_works = "*"
    settings.quick_entry_prefix_chapters = "#"
    settings.labour_unit = units["H"]
    settings.intervention_time_unit = units["H"]
    settings.additional_cost_table = _by_code(AdditionalCostTable, tenant_id)["STD"]
    settings.classic_order_operation_code = codes["CO"]
    settings.operational_order_operation_code = codes["OO"]
    settings.intervention_delivery_operation_code = codes["BI"]
    settings.grouped_billing_operation_code = codes["FS"]
    settings.detailed_billing_operation_code = codes["FD"]
    settings.final_billing_operation_code = codes["FF"]
    settings.down_payment_operation_code = codes["AC"]
    settings.labour_sales_coefficient = Decimal("1.35")
    settings.supply_sales_coefficient = Decimal("1.25")
    settings.difficulty_coefficient = Decimal("1")
    settings.overhead_coefficient = Decimal("1.10")
    settings.prospect_quote_title = titles["DPR"]
    settings.client_quote_title = titles["DEV"]
    settings.order_confirmation_title = titles["CDE"]
    settings.terms_of_sale_text_code = _by_code(TextCode, tenant_id)["CGV"]
    settings.header_text = "Bâtiment Démo SARL — 12 rue de la Part-Dieu, 69003 Lyon"
    settings.footer_text = "SARL au capital de 50 000 € — RCS Lyon 123 456 789 — TVA FR12123456789"
    settings.mileage_article_reference = "KM"
    settings.grouped_billing_article_reference = "FACTGRP"
    settings.grouped_billing_line_label = "Travaux au taux de TVA #TVA# — facture #FACTURE#"
    settings.down_payment_article_reference = "ACOMPTE"
    settings.down_payment_label = "Acompte TVA #TVA#"
    settings.price_revision_nature = natures["REV"]
    settings.contractual_holdback_nature = natures["RG"]


def seed_demo() -> bool:
    """Create the DEMO tenant unless it exists. Returns True when it was created."""
    if db.session.query(Tenant.id).filter_by(code="DEMO").first():
        return False
    audit_actor.set((None, "seed-demo"))
    tenant = create_tenant("DEMO", "Bâtiment Démo SARL")
    _add_parameters(tenant.id)
    _configure_settings(tenant.id)
    for email, role, name in DEMO_USERS:
        create_user(email, DEMO_PASSWORD, [(tenant, role)], full_name=name)
    db.session.commit()
    return True


@click.command("seed-demo", help="Load the demo tenant DEMO (skipped when it exists) and print its logins.")
@with_appcontext
def seed_demo_command():
    created = seed_demo()
    click.echo("Demo tenant DEMO " + ("created." if created else "already present."))
    click.echo("Demo logins (password: %s):" % DEMO_PASSWORD)
    for email, role, _name in DEMO_USERS:
        click.echo(f"  {role:<11} {email}")
