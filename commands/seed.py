"""``seed-demo``: the demo tenant DEMO with one user per role, realistic French parameters and master data."""
import os
import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from core import transaction
from core.audit import audit_actor
from core.extensions import db
from models import (
    AdditionalCostTable, Article, ArticleFamily, Client, ClientFamily, Connector, Contact, Contract, Depot,
    DocumentTitle, DossierSettings, Employee, Equipment, Establishment, JobSite, NumberingSequence,
    OperationCode, PriceCategory, ProductNature, Sector, Site, Supplier, SupplierFamily, Tenant, TextCode,
    Unit, VatRate,
)
from models.invoices import Invoice, InvoiceLine
from models.payments import Payment
from rules.invoices import compute_totals, create_credit_note, validate_invoice
from rules.payments import PaymentRow, import_rows
from rules.pricing import ArticleCosts, PricingSettings, is_labour_nature, price_line
from rules.tenancy import create_tenant, create_user
from spreadsheets import xlsx
from spreadsheets.payments_file import TEMPLATE_HEADERS, TEMPLATE_SHEET

DEMO_PASSWORD = "demo-passerelle"
DEMO_USERS = (
    ("admin@demo.test", "admin", "Alice Administratrice"),
    ("consultant@demo.test", "consultant", "Claude Consultant"),
    ("backoffice@demo.test", "backoffice", "Bernard Backoffice"),
    ("viewer@demo.test", "viewer", "Valérie Lectrice"),
)

# UN/ECE Recommendation 20 codes of the demo units (the electronic invoice needs them)
UN_ECE_CODES = {"U": "H87", "H": "HUR", "J": "DAY", "M": "MTR", "M2": "MTK", "M3": "MTQ", "KG": "KGM", "FF": "C62"}
# SIREN of the public clients (the others' is in their VAT number)
PUBLIC_SIRENS = {"C0003": "216900001", "C0004": "200040715"}
COMPANY = {
    "legal_name": "Bâtiment Démo SARL", "legal_form": "SARL", "share_capital": Decimal("50000"),
    "siren": "123456782", "siret": "12345678200002", "vat_number": "FR11123456782",
    "registration": "RCS Lyon", "address": "12 rue de la Part-Dieu", "postcode": "69003", "city": "Lyon",
    "country": "FR", "email": "compta@batiment-demo.fr", "phone": "04 78 00 12 34",
    "iban": "FR7630006000011234567890189", "bic": "AGRIFRPP", "payment_terms_days": 30,
    "payment_terms_end_of_month": False, "late_penalty_rate": Decimal("12.00"), "vat_on_debits": False,
    "insurer_name": "SMABTP", "insurer_address": "8 rue Louis-Armand, 75015 Paris",
    "insurance_policy": "1234567", "insurance_coverage": "France métropolitaine",
}
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
            row = model(tenant_id=tenant_id, code=code, label=label)
            if model is Unit:
                row.un_ece_code = UN_ECE_CODES[code]
            add(row)
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
    settings.footer_text = "SARL au capital de 50 000 € — RCS Lyon 123 456 782 — TVA FR11123456782"
    settings.mileage_article_reference = "KM"
    settings.grouped_billing_article_reference = "FACTGRP"
    settings.grouped_billing_line_label = "Travaux au taux de TVA #TVA# — facture #FACTURE#"
    settings.down_payment_article_reference = "ACOMPTE"
    settings.down_payment_label = "Acompte TVA #TVA#"
    settings.price_revision_nature = natures["REV"]
    settings.contractual_holdback_nature = natures["RG"]
    for name, value in COMPANY.items():  # the company identity of the legal invoices (invoicing.md)
        setattr(settings, name, value)


# --- Master data ---------------------------------------------------------------------------
# code, first name, last name, technician, hourly cost, billable hourly rate, hire date
EMPLOYEES = [
    ("SAL01", "Karim", "Benali", True, "31.50", "58.00", date(2015, 3, 2)),
    ("SAL02", "Julien", "Moreau", True, "29.80", "55.00", date(2018, 9, 17)),
    ("SAL03", "Sophie", "Garnier", True, "30.20", "55.00", date(2019, 1, 7)),
    ("SAL04", "Thomas", "Rey", True, "27.40", "52.00", date(2022, 6, 1)),
    ("SAL05", "Nathalie", "Perrin", False, "34.00", None, date(2012, 11, 5)),
    ("SAL06", "Olivier", "Chabert", False, "38.50", None, date(2010, 4, 12)),
]
# code, name, family, address, postcode, city, email, phone, VAT number, salesperson
CLIENTS = [
    ("C0001", "Immobilière Rhône-Alpes SA", "BAIL", "18 quai Perrache", "69002", "Lyon",
     "travaux@ira-habitat.fr", "04 72 40 11 00", "FR96552100554", "SAL06"),
    ("C0002", "Lyon Métropole Habitat", "BAIL", "194 rue Duguesclin", "69003", "Lyon",
     "maintenance@lmh.fr", "04 72 74 68 00", "FR32269690012", "SAL06"),
    ("C0003", "Ville de Villeurbanne", "COLL", "Place Lazare-Goujon", "69100", "Villeurbanne",
     "services.techniques@mairie-villeurbanne.fr", "04 78 03 67 67", "", "SAL05"),
    ("C0004", "Grenoble-Alpes Métropole", "COLL", "3 rue Malakoff", "38000", "Grenoble",
     "patrimoine@grenoblealpesmetropole.fr", "04 76 59 59 59", "", "SAL05"),
    ("C0005", "Boulangerie Fournier SARL", "ENTR", "7 rue de la République", "69001", "Lyon",
     "contact@boulangerie-fournier.fr", "04 78 28 14 52", "FR96412345670", "SAL06"),
    ("C0006", "Clinique du Grésivaudan", "ENTR", "10 avenue Maquis-du-Grésivaudan", "38700", "La Tronche",
     "technique@clinique-gresivaudan.fr", "04 76 63 14 00", "FR92501234561", "SAL05"),
    ("C0007", "Hôtel des Alpes SAS", "ENTR", "45 avenue Félix-Viallet", "38000", "Grenoble",
     "direction@hoteldesalpes.fr", "04 76 87 00 71", "FR79398765438", "SAL05"),
    ("C0008", "Garage Vial & Fils", "ENTR", "112 route de Vienne", "69008", "Lyon",
     "garage.vial@orange.fr", "04 78 74 33 21", "FR75487654329", "SAL06"),
    ("C0009", "M. et Mme Durand", "PART", "3 chemin des Vignes", "69290", "Craponne",
     "p.durand@free.fr", "06 12 34 56 78", "", None),
    ("C0010", "Mme Lefebvre Catherine", "PART", "21 rue Saint-Laurent", "38000", "Grenoble",
     "c.lefebvre@gmail.com", "06 71 22 43 90", "", None),
    ("C0011", "M. Roux Bernard", "PART", "8 allée des Tilleuls", "38240", "Meylan",
     "bernard.roux@wanadoo.fr", "04 76 90 12 34", "", None),
    ("C0012", "SCI Les Terrasses de Fourvière", "ENTR", "5 montée du Gourguillon", "69005", "Lyon",
     "gestion@sci-terrasses.fr", "04 78 42 55 10", "FR19812345676", "SAL06"),
]
# code, name, family, address, postcode, city, email, phone
SUPPLIERS = [
    ("F001", "Rexel Lyon Gerland", "NEG", "30 avenue Tony-Garnier", "69007", "Lyon",
     "lyon.gerland@rexel.fr", "04 72 76 20 20"),
    ("F002", "Cedeo Grenoble", "NEG", "14 rue des Arts-et-Métiers", "38000", "Grenoble",
     "grenoble@cedeo.fr", "04 76 96 42 10"),
    ("F003", "Kiloutou Vénissieux", "LOC", "21 boulevard Joliot-Curie", "69200", "Vénissieux",
     "venissieux@kiloutou.fr", "04 78 70 88 00"),
    ("F004", "Thermique Services Dauphiné", "SST", "6 rue Lavoisier", "38130", "Échirolles",
     "contact@tsd-thermique.fr", "04 76 22 81 45"),
]
# code, name, client, supplier, role, email, phone
CONTACTS = [
    ("CT001", "Isabelle Martin", "C0001", None, "Responsable patrimoine", "i.martin@ira-habitat.fr",
     "04 72 40 11 05"),
    ("CT002", "Franck Dupuis", "C0002", None, "Gardien d'immeuble", "f.dupuis@lmh.fr", "06 45 12 78 90"),
    ("CT003", "Hélène Bonnet", "C0003", None, "Directrice des services techniques",
     "h.bonnet@mairie-villeurbanne.fr", "04 78 03 68 10"),
    ("CT004", "Marc Giraud", "C0006", None, "Responsable maintenance", "m.giraud@clinique-gresivaudan.fr",
     "04 76 63 14 22"),
    ("CT005", "Pierre Fournier", "C0005", None, "Gérant", "pierre@boulangerie-fournier.fr", "06 08 44 19 27"),
    ("CT006", "Laurent Chevalier", None, "F001", "Technico-commercial", "l.chevalier@rexel.fr",
     "06 33 21 45 67"),
    ("CT007", "Émilie Fabre", None, "F002", "Comptoir", "e.fabre@cedeo.fr", "04 76 96 42 11"),
]
# code, name, client, address, postcode, city
SITES = [
    ("S0001", "Résidence Les Acacias", "C0001", "12 rue des Acacias", "69008", "Lyon"),
    ("S0002", "Résidence Perrache Sud", "C0001", "4 cours Charlemagne", "69002", "Lyon"),
    ("S0003", "Groupe Mermoz Nord", "C0002", "25 avenue Jean-Mermoz", "69008", "Lyon"),
    ("S0004", "Groupe scolaire Jules-Ferry", "C0003", "30 rue Jules-Ferry", "69100", "Villeurbanne"),
    ("S0005", "Gymnase des Gratte-Ciel", "C0003", "2 avenue Henri-Barbusse", "69100", "Villeurbanne"),
    ("S0006", "Piscine Jean-Bron", "C0004", "Avenue Jean-Perrot", "38100", "Grenoble"),
    ("S0007", "Boulangerie — fournil", "C0005", "7 rue de la République", "69001", "Lyon"),
    ("S0008", "Clinique — bâtiment B", "C0006", "10 avenue Maquis-du-Grésivaudan", "38700", "La Tronche"),
    ("S0009", "Hôtel des Alpes", "C0007", "45 avenue Félix-Viallet", "38000", "Grenoble"),
    ("S0010", "Maison Durand", "C0009", "3 chemin des Vignes", "69290", "Craponne"),
    ("S0011", "Appartement Lefebvre", "C0010", "21 rue Saint-Laurent", "38000", "Grenoble"),
    ("S0012", "Immeuble Le Belvédère", "C0012", "5 montée du Gourguillon", "69005", "Lyon"),
]
# code, name, client, site, sector, status, start date
JOB_SITES = [
    ("CH24001", "Rénovation électrique Les Acacias", "C0001", "S0001", "LYON", "open", date(2024, 9, 2)),
    ("CH24002", "Remplacement chaufferie Mermoz", "C0002", "S0003", "LYON", "open", date(2024, 10, 14)),
    ("CH24003", "Mise aux normes groupe scolaire", "C0003", "S0004", "LYON", "closed", date(2024, 4, 8)),
    ("CH25001", "Pompe à chaleur piscine Jean-Bron", "C0004", "S0006", "ISERE", "open", date(2025, 2, 3)),
    ("CH25002", "Salle de bains Mme Lefebvre", "C0010", "S0011", "ISERE", "open", date(2025, 3, 17)),
    ("CH25003", "Réfection plomberie Le Belvédère", "C0012", "S0012", "LYON", "open", date(2025, 5, 5)),
]
# code, label, family, subfamily, nature, unit, net purchase price, VAT code
ARTICLES = [
    ("MO-ELEC", "Main-d'œuvre électricien", "MO", None, "4MO", "H", "32.00", "T20"),
    ("MO-PLOM", "Main-d'œuvre plombier", "MO", None, "4MO", "H", "32.00", "T20"),
    ("MO-CVC", "Main-d'œuvre chauffagiste", "MO", None, "4MO", "H", "34.00", "T20"),
    ("MO-APP", "Main-d'œuvre apprenti", "MO", None, "4MO", "H", "18.00", "T20"),
    ("MO-FRIG", "Main-d'œuvre frigoriste qualifié", "MO", None, "4MOS", "H", "42.00", "T20"),
    ("MO-DEP", "Dépannage urgent", "MO", None, "4MOD", "H", "38.00", "T20"),
    ("MO-RENO", "Main-d'œuvre rénovation logement (TVA 10 %)", "MO", None, "4MO", "H", "32.00", "T10"),
    ("DEPL", "Forfait déplacement", "MO", None, "4MO", "FF", "25.00", "T20"),
    ("CAB-R2V-3G15", "Câble R2V 3G1,5 mm²", "ELEC", "ELEC-CAB", "6FO", "M", "0.8900", "T20"),
    ("CAB-R2V-3G25", "Câble R2V 3G2,5 mm²", "ELEC", "ELEC-CAB", "6FO", "M", "1.3500", "T20"),
    ("GAINE-ICTA20", "Gaine ICTA Ø20 (couronne 100 m)", "ELEC", "ELEC-CAB", "6FO", "U", "24.9000", "T20"),
    ("DISJ-16A", "Disjoncteur divisionnaire 16 A", "ELEC", "ELEC-TAB", "6FO", "U", "7.8000", "T20"),
    ("DISJ-DIFF-40", "Interrupteur différentiel 40 A 30 mA type A", "ELEC", "ELEC-TAB", "6FO", "U",
     "48.5000", "T20"),
    ("TAB-3R", "Tableau électrique 3 rangées équipé", "ELEC", "ELEC-TAB", "6FO", "U", "185.0000", "T20"),
    ("PRISE-2P", "Prise 2P+T encastrée", "ELEC", None, "6FO", "U", "4.2000", "T20"),
    ("SPOT-LED", "Spot LED encastrable 6 W", "ELEC", None, "6FO", "U", "9.6000", "T20"),
    ("WC-SUSP", "Pack WC suspendu avec bâti", "PLOM", "PLOM-SAN", "6FO", "U", "289.0000", "T10"),
    ("LAVABO-60", "Lavabo céramique 60 cm", "PLOM", "PLOM-SAN", "6FO", "U", "74.0000", "T10"),
    ("MITIG-LAV", "Mitigeur lavabo", "PLOM", "PLOM-SAN", "6FO", "U", "58.0000", "T10"),
    ("RECEV-DOUCHE", "Receveur de douche extra-plat 90×90", "PLOM", "PLOM-SAN", "6FO", "U", "135.0000", "T10"),
    ("CUIVRE-14", "Tube cuivre Ø14 (barre 4 m)", "PLOM", None, "6MA", "U", "21.5000", "T20"),
    ("PER-16", "Tube PER nu Ø16 (couronne 50 m)", "PLOM", None, "6MA", "U", "32.0000", "T20"),
    ("CHAUFFE-EAU-200", "Chauffe-eau électrique 200 L", "PLOM", None, "6FO", "U", "395.0000", "T20"),
    ("PAC-AE-8KW", "Pompe à chaleur air/eau 8 kW", "CVC", "CVC-PAC", "6FO", "U", "4850.0000", "T55"),
    ("PAC-AA-3.5KW", "Climatiseur réversible air/air 3,5 kW", "CVC", "CVC-PAC", "6FO", "U", "890.0000", "T20"),
    ("CHAUD-GAZ-25", "Chaudière gaz à condensation 25 kW", "CVC", None, "6FO", "U", "1680.0000", "T55"),
    ("RADIAT-1000", "Radiateur acier 1000 W", "CVC", None, "6FO", "U", "145.0000", "T10"),
    ("VMC-HYGRO", "VMC simple flux hygroréglable", "CVC", None, "6FO", "U", "210.0000", "T55"),
    ("THERMOSTAT", "Thermostat d'ambiance programmable", "CVC", None, "6FO", "U", "69.0000", "T20"),
    ("NACELLE-J", "Location nacelle 12 m (jour)", "CVC", None, "6LO", "J", "165.0000", "T20"),
]
# code, client, site, start, term, renewal due date, open-ended
CONTRACTS = [
    ("CT-ENT-001", "C0001", "S0001", date(2024, 1, 1), None, date(2026, 1, 1), True),
    ("CT-ENT-002", "C0006", "S0008", date(2025, 1, 1), date(2027, 12, 31), date(2027, 10, 1), False),
    ("CT-ENT-003", "C0007", "S0009", date(2024, 7, 1), date(2025, 6, 30), date(2025, 4, 1), False),
]
# code, label, site, contract
EQUIPMENT = [
    ("EQ-0001", "Chaudière collective De Dietrich 120 kW", "S0001", "CT-ENT-001"),
    ("EQ-0002", "VMC collective bâtiment A", "S0001", "CT-ENT-001"),
    ("EQ-0003", "Centrale de traitement d'air bloc opératoire", "S0008", "CT-ENT-002"),
    ("EQ-0004", "Groupe froid cuisine", "S0009", "CT-ENT-003"),
    ("EQ-0005", "Pompe à chaleur piscine", "S0006", None),
]


def _add_master_data(tenant_id: int) -> None:
    """Demo clients, suppliers, contacts, sites, job sites, employees, articles, contracts and
    equipment of a tenant whose parameters and settings are in place."""
    add = db.session.add
    employees = {}
    for code, first, last, technician, cost, rate, hired in EMPLOYEES:
        employees[code] = Employee(
            tenant_id=tenant_id, code=code, first_name=first, last_name=last, technician=technician,
            email=f"{first.lower()}.{last.lower()}@batiment-demo.fr", phone="06 00 00 00 " + code[-2:],
            hourly_cost=Decimal(cost), billable_hourly_rate=Decimal(rate) if rate else None, hire_date=hired)
        add(employees[code])
    families = _by_code(ClientFamily, tenant_id)
    clients = {}
    for code, name, family, address, postcode, city, email, phone, vat, salesperson in CLIENTS:
        clients[code] = Client(tenant_id=tenant_id, code=code, name=name, client_family=families.get(family),
                               address=address, postcode=postcode, city=city, country="FR", email=email,
                               phone=phone, vat_number=vat, salesperson=employees.get(salesperson),
                               professional=family != "PART", siren=PUBLIC_SIRENS.get(code) or vat[4:] or None)
        add(clients[code])
    supplier_families = _by_code(SupplierFamily, tenant_id)
    suppliers = {}
    for code, name, family, address, postcode, city, email, phone in SUPPLIERS:
        suppliers[code] = Supplier(tenant_id=tenant_id, code=code, name=name,
                                   supplier_family=supplier_families.get(family), address=address,
                                   postcode=postcode, city=city, email=email, phone=phone)
        add(suppliers[code])
    for code, name, client, supplier, role, email, phone in CONTACTS:
        add(Contact(tenant_id=tenant_id, code=code, name=name, client=clients.get(client),
                    supplier=suppliers.get(supplier), role=role, email=email, phone=phone))
    sites = {}
    for code, name, client, address, postcode, city in SITES:
        sites[code] = Site(tenant_id=tenant_id, code=code, name=name, client=clients[client], address=address,
                           postcode=postcode, city=city)
        add(sites[code])
    sectors = _by_code(Sector, tenant_id)
    for code, name, client, site, sector, status, start in JOB_SITES:
        add(JobSite(tenant_id=tenant_id, code=code, name=name, client=clients[client], site=sites[site],
                    sector=sectors.get(sector), status=status, start_date=start, address=sites[site].address,
                    postcode=sites[site].postcode, city=sites[site].city))
    _add_articles(tenant_id)
    contracts = {}
    for code, client, site, start, term, renewal, open_ended in CONTRACTS:
        contracts[code] = Contract(tenant_id=tenant_id, code=code, client=clients[client], site=sites[site],
                                   start_date=start, term_date=term, renewal_due_date=renewal,
                                   open_ended=open_ended)
        add(contracts[code])
    for code, label, site, contract in EQUIPMENT:
        add(Equipment(tenant_id=tenant_id, code=code, label=label, site=sites[site],
                      contract=contracts.get(contract)))
    db.session.flush()


def _add_articles(tenant_id: int) -> None:
    """Articles with a sale price from the pricing rule and the tenant's current settings."""
    settings = PricingSettings.from_settings(
        db.session.query(DossierSettings).filter_by(tenant_id=tenant_id).one())
    families, natures = _by_code(ArticleFamily, tenant_id), _by_code(ProductNature, tenant_id)
    units, vat_rates = _by_code(Unit, tenant_id), _by_code(VatRate, tenant_id)
    for code, label, family, subfamily, nature, unit, price, vat in ARTICLES:
        price = Decimal(price)
        overhead = natures[nature].overhead_coefficient if nature in natures else None
        costs = ArticleCosts(nature, overhead, price)
        sale_price = price_line(costs, Decimal(1), settings).unit_price
        db.session.add(Article(
            tenant_id=tenant_id, code=code, label=label, family=families.get(family),
            subfamily=families.get(subfamily), nature=natures.get(nature), unit=units.get(unit),
            net_purchase_price=price, cost_price=(price * Decimal("1.08")).quantize(Decimal("0.0001")),
            weighted_average_cost=price, standard_cost=price, sale_price=sale_price, vat_rate=vat_rates.get(vat),
            available_for_export=True, active=True))


# --- Invoices and payments ----------------------------------------------------------------
# job site, days before today, lines (article code, quantity): validated in date order
DEMO_INVOICES = [
    ("CH24003", 150, [("MO-ELEC", "24"), ("DISJ-DIFF-40", "6"), ("SPOT-LED", "40")]),
    ("CH24001", 120, [("MO-ELEC", "16"), ("TAB-3R", "1"), ("DISJ-16A", "8"), ("CAB-R2V-3G25", "150")]),
    ("CH24002", 100, [("MO-CVC", "24"), ("CHAUD-GAZ-25", "1"), ("RADIAT-1000", "4")]),
    ("CH25001", 75, [("PAC-AE-8KW", "1"), ("MO-FRIG", "12"), ("NACELLE-J", "2")]),
    ("CH25002", 60, [("WC-SUSP", "1"), ("LAVABO-60", "1"), ("MITIG-LAV", "1"), ("MO-RENO", "10")]),
    ("CH25003", 45, [("MO-PLOM", "18"), ("CUIVRE-14", "12"), ("PER-16", "2")]),
    ("CH24001", 30, [("MO-ELEC", "8"), ("PRISE-2P", "20")]),
]
DEMO_DRAFT_INVOICES = [
    ("CH25002", 3, [("MO-RENO", "6"), ("MITIG-LAV", "2")]),
    ("CH25003", 1, [("MO-PLOM", "4"), ("PER-16", "1")]),
]
# invoice (index in DEMO_INVOICES), days after the invoice, share of its total, method, accounting reference
DEMO_PAYMENTS = [
    (0, 30, "1", "transfer", "BQ-DEMO-0001"),
    (1, 20, "0.3", "cheque", "BQ-DEMO-0002"),
    (1, 45, "0.4", "transfer", "BQ-DEMO-0003"),
    (2, 30, "0.5", "direct_debit", "BQ-DEMO-0004"),
    (3, 15, "0.3", "transfer", "BQ-DEMO-0005"),
]
DEMO_PAYMENTS_FILE = ("demo", "reglements_demo.xlsx")


def _demo_draft(tenant_id: int, job_site_code: str, days: int, lines, job_sites, articles,
                labour_prefix: str) -> Invoice:
    """A draft invoice on a demo job site, priced with the articles' sale prices."""
    job_site = job_sites[job_site_code]
    invoice = Invoice(tenant_id=tenant_id, state="draft", invoice_date=date.today() - timedelta(days=days),
                      client_id=job_site.client_id, site_id=job_site.site_id, job_site_id=job_site.id,
                      sector_id=job_site.sector_id, memo=f"Travaux — {job_site.name}")
    invoice.lines = [InvoiceLine(tenant_id=tenant_id, position=position, article=articles[code],
                                 label=articles[code].label, kind=_line_kind(articles[code], labour_prefix),
                                 quantity=Decimal(quantity), unit_price=articles[code].sale_price or Decimal(0),
                                 vat_rate=articles[code].vat_rate)
                     for position, (code, quantity) in enumerate(lines)]
    compute_totals(invoice)
    db.session.add(invoice)
    db.session.flush()
    return invoice


def _line_kind(article, labour_prefix: str) -> str:
    return "labour" if article.nature and is_labour_nature(article.nature.code, labour_prefix) else "supply"


def _add_demo_invoices(tenant_id: int) -> list[Invoice]:
    """Validated invoices on the demo job sites (numbered by ``validate_invoice``), then
    two drafts waiting for validation."""
    job_sites, articles = _by_code(JobSite, tenant_id), _by_code(Article, tenant_id)
    prefix = db.session.query(DossierSettings.labour_nature_prefix).filter_by(tenant_id=tenant_id).scalar()
    validated = [validate_invoice(_demo_draft(tenant_id, *spec, job_sites, articles, prefix).id, tenant_id)
                 for spec in DEMO_INVOICES]
    for spec in DEMO_DRAFT_INVOICES:
        _demo_draft(tenant_id, *spec, job_sites, articles, prefix)
    return validated


def _add_demo_payments(tenant_id: int) -> None:
    """Payments on some validated demo invoices (as one import batch, through the import
    rule), after creating a few validated invoices when the tenant has none yet."""
    if db.session.query(Payment.id).filter_by(tenant_id=tenant_id).first():
        return
    invoices = (db.session.query(Invoice).filter_by(tenant_id=tenant_id, state="validated")
                .order_by(Invoice.invoice_date, Invoice.id).all())
    if not invoices:
        invoices = _add_demo_invoices(tenant_id)
    rows = []
    for index, days, share, method, reference in DEMO_PAYMENTS:
        if index >= len(invoices):
            continue
        invoice = invoices[index]
        rows.append(PaymentRow(len(rows) + 2, (), invoice_reference=invoice.number,
                               payment_date=min(invoice.invoice_date + timedelta(days=days), date.today()),
                               amount=(invoice.total_incl_vat * Decimal(share)).quantize(Decimal("0.01")),
                               method=method, accounting_reference=reference, invoice_id=invoice.id))
    import_rows([row for row in rows if row.amount > 0], tenant_id, "reprise_comptable_demo.xlsx", "seed-demo")


def _add_demo_credit_note(tenant_id: int) -> None:
    """A validated credit note for part of the latest demo invoice (once)."""
    if db.session.query(Invoice.id).filter_by(tenant_id=tenant_id, kind="credit_note").first():
        return
    latest = (db.session.query(Invoice).filter_by(tenant_id=tenant_id, state="validated", kind="invoice")
              .order_by(Invoice.invoice_date.desc(), Invoice.id.desc()).first())
    if latest is None:
        return
    credit = create_credit_note(latest.id, tenant_id)
    credit.memo = "Avoir partiel : reprise de matériel non posé"
    line = credit.lines[-1]
    line.quantity = max(Decimal("1"), (Decimal(line.quantity) / 2).quantize(Decimal("1")))
    credit.lines = [line]
    compute_totals(credit)
    db.session.flush()
    validate_invoice(credit.id, tenant_id)


def write_demo_payments_file(tenant_id: int, path: str) -> None:
    """The demo accounting file: good rows, a warning or two, red rows (unknown invoice,
    duplicate of a demo payment, another client, negative amount without date)."""
    invoices = (db.session.query(Invoice).filter_by(tenant_id=tenant_id, state="validated")
                .order_by(Invoice.invoice_date, Invoice.id).all())
    if len(invoices) < 5:
        return
    today = date.today()
    number = [invoice.number for invoice in invoices]
    client = [invoice.client.code for invoice in invoices]
    rows = [
        (number[4], today - timedelta(days=10), invoices[4].total_incl_vat, "Virement", client[4], "BQ-DEMO-1001"),
        (number[5], (today - timedelta(days=8)).strftime("%d/%m/%Y"),
         (invoices[5].total_incl_vat / 2).quantize(Decimal("0.01")),
         "chèque", "", "BQ-DEMO-1002"),
        (number[3], today - timedelta(days=5), invoices[3].total_incl_vat, "Carte", client[3], "BQ-DEMO-1003"),
        (number[6], today - timedelta(days=4), Decimal("150.00"), "Bitcoin", "", "BQ-DEMO-1004"),
        ("FA999999", today - timedelta(days=3), Decimal("100.00"), "Virement", "", "BQ-DEMO-1005"),
        (number[0], today - timedelta(days=2), Decimal("80.00"), "Virement", "C0009", "BQ-DEMO-0001"),
        (number[2], None, Decimal("-20.00"), "Carte", client[2], "BQ-DEMO-1006"),
    ]
    kinds = (xlsx.TEXT, xlsx.DATE, xlsx.MONEY, xlsx.TEXT, xlsx.TEXT, xlsx.TEXT)
    names = ("invoice_reference", "payment_date", "amount", "method", "client_code", "accounting_reference")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    columns = [xlsx.Column(TEMPLATE_HEADERS[name], kind) for name, kind in zip(names, kinds)]
    xlsx.write_xlsx(path, TEMPLATE_SHEET, columns, rows)


# The demo field-service connector and the reference peer it talks to (README: how to start it)
DEMO_FIELD_SERVICE = ("TERRAIN", "Application d'interventions (pair de référence)", "http://127.0.0.1:5010",
                      "demo-terrain")
DEMO_PEER_DATA = os.path.join("exchange", "field_service", "demo_interventions.json")


def demo_peer_command() -> str:
    code, _label, url, key = DEMO_FIELD_SERVICE
    port = url.rsplit(":", 1)[-1]
    return f"flask --app app exchange peer field-service --port {port} --data {DEMO_PEER_DATA} --api-key {key}"


def _add_demo_connectors(tenant_id: int) -> None:
    """The field-service connector of the demo (once: kept as the user edited it)."""
    from exchange.base import save_connector
    from models.exchange import Connector
    code, label, url, key = DEMO_FIELD_SERVICE
    if db.session.query(Connector.id).filter_by(tenant_id=tenant_id, code=code).first():
        return
    _connector, errors = save_connector(tenant_id, "field_service", code, label, True,
                                        {"base_url": url, "api_key": key, "batch_size": "500"})
    if errors:
        raise click.ClickException(f"demo connector {code}: {errors}")
# --- The work-order connector (exchanges.md Kind 3) -------------------------------------
# Articles of ../shared/samples/work_orders/workorder.json, and Léa Dubois of its users
# (Karim Benali is SAL01), so that the sample posted to the demo becomes a priced draft.
WORK_ORDER_ARTICLES = [
    ("FILT-G4", "Filtre G4 pour pompe à chaleur", "CVC", "U", "18.5000"),
    ("GAZ-R32-1KG", "Fluide frigorigène R32 (kg)", "CVC", "KG", "62.0000"),
    ("KM", "Frais de déplacement (km)", None, "KM", "0.4500"),
]
WORK_ORDER_CONNECTOR = {
    "code": "BT", "label": "Application de bons de travail (démo)",
    "settings": {"base_url": "http://127.0.0.1:5102", "api_key": "demo-inventory-key",
                 "inbound_token": "demo-work-orders-token", "signing_secret": "demo-signing-secret",
                 "mileage_rate": "0.45", "mileage_article": "KM", "labour_article": "MO-CVC",
                 "product_filter": "CVC"},
}


def _add_work_order_connector(tenant_id: int) -> None:
    """The demo's work-order connector with what the sample work order needs (once)."""
    from exchange.base import save_connector
    if db.session.query(Connector.id).filter_by(tenant_id=tenant_id, code=WORK_ORDER_CONNECTOR["code"]).first():
        return
    units, families = _by_code(Unit, tenant_id), _by_code(ArticleFamily, tenant_id)
    if "KM" not in units:
        units["KM"] = Unit(tenant_id=tenant_id, code="KM", label="Kilomètre")
        db.session.add(units["KM"])
    vat = _by_code(VatRate, tenant_id).get("T20")
    for code, label, family, unit, price in WORK_ORDER_ARTICLES:
        if not db.session.query(Article.id).filter_by(tenant_id=tenant_id, code=code).first():
            db.session.add(Article(tenant_id=tenant_id, code=code, label=label, family=families.get(family),
                                   unit=units.get(unit), sale_price=Decimal(price), vat_rate=vat,
                                   available_for_export=True, active=True))
    if not db.session.query(Employee.id).filter_by(tenant_id=tenant_id, code="SAL07").first():
        db.session.add(Employee(tenant_id=tenant_id, code="SAL07", first_name="Léa", last_name="Dubois",
                                technician=False, email="lea.dubois@batiment-demo.fr", phone="06 00 00 00 07",
                                hourly_cost=Decimal("28.00"), billable_hourly_rate=Decimal("52.00"),
                                hire_date=date(2021, 2, 1)))
    db.session.flush()
    _connector, errors = save_connector(tenant_id, "work_orders", WORK_ORDER_CONNECTOR["code"],
                                        WORK_ORDER_CONNECTOR["label"], True, WORK_ORDER_CONNECTOR["settings"])
    if errors:
        raise click.ClickException(f"work-order connector: {errors}")


# The CSV exchange partner of the demo: the sample files wait in its import folder;
# NOTAIRE is left without mapping, to be mapped on the reception screen.
CSV_SAMPLES = Path(__file__).resolve().parents[1] / ".." / "shared" / "samples" / "csv_exchange"
CSV_MAPPINGS = (("SRV-FRAIS", "MO-DEP"), ("LEG-DOC", "MO-APP"), ("MSG-INT", "MO-ELEC"))


def _add_csv_connector(tenant_id: int) -> None:
    from exchange.base import save_connector
    from models import ArticleMapping
    from models.exchange import Connector
    if db.session.query(Connector.id).filter_by(tenant_id=tenant_id, code="PARTENAIRE").first():
        return
    connector, errors = save_connector(tenant_id, "csv_exchange", "PARTENAIRE", "Partenaire fichiers CSV", True, {
        "import_folder": "demo/partenaire/in", "export_folder": "demo/partenaire/out", "depot": "DEP-LYO",
        "establishment": "LYON", "client_family": "ENTR", "supplier_family": "NEG", "document_type": "delivery_note",
        "articles_mode": "exportable_only", "clients_mode": "all", "include_contacts": "oui",
        "update_mode": "at_login"})
    if errors:  # the demo's parameters changed: the demo goes on without its partner
        current_app.logger.warning("seed-demo: CSV connector not created: %s", errors)
        return
    articles = _by_code(Article, tenant_id)
    for external, code in CSV_MAPPINGS:
        if code in articles:
            db.session.add(ArticleMapping(tenant_id=tenant_id, connector_id=connector.id,
                                          article_id=articles[code].id, external_code=external))
    db.session.flush()
    folder = Path(current_app.config["EXCHANGE_ROOT"]) / "demo" / "partenaire" / "in"
    folder.mkdir(parents=True, exist_ok=True)
    if CSV_SAMPLES.is_dir() and not any(folder.iterdir()):
        for sample in CSV_SAMPLES.iterdir():
            shutil.copy(sample, folder / sample.name)


def seed_demo() -> bool:
    """Create the DEMO tenant unless it exists, and its demo master data unless it has
    clients already (so that running it again changes nothing). Returns True when the
    tenant was created."""
    audit_actor.set((None, "seed-demo"))
    tenant = db.session.query(Tenant).filter_by(code="DEMO").one_or_none()
    created = tenant is None
    if created:
        tenant = create_tenant("DEMO", "Bâtiment Démo SARL")
        _add_parameters(tenant.id)
        _configure_settings(tenant.id)
        for email, role, name in DEMO_USERS:
            create_user(email, DEMO_PASSWORD, [(tenant, role)], full_name=name)
    if not db.session.query(Client.id).filter_by(tenant_id=tenant.id).first():
        _add_master_data(tenant.id)
    _add_work_order_connector(tenant.id)
    _add_demo_payments(tenant.id)
    _add_demo_connectors(tenant.id)
    _add_csv_connector(tenant.id)
    _add_demo_credit_note(tenant.id)
    transaction.commit()
    path = os.path.join(current_app.instance_path, *DEMO_PAYMENTS_FILE)
    if not os.path.exists(path):
        write_demo_payments_file(tenant.id, path)
    return created


@click.command("seed-demo", help="Load the demo tenant DEMO (skipped when it exists) and print its logins.")
@with_appcontext
def seed_demo_command():
    created = seed_demo()
    click.echo("Demo tenant DEMO " + ("created." if created else "already present."))
    click.echo("Demo payments file for the import: " + os.path.join(current_app.instance_path, *DEMO_PAYMENTS_FILE))
    click.echo("Demo field-service peer (connector TERRAIN), in another terminal: " + demo_peer_command())
    click.echo("Demo logins (password: %s):" % DEMO_PASSWORD)
    for email, role, _name in DEMO_USERS:
        click.echo(f"  {role:<11} {email}")
