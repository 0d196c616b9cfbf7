"""Generated rows of the benchmarked lists, deterministic (row ``i`` is always the same).

A dataset names the list (its URL name, ``/admin/<resource>/``), its model and a
function making row ``i``; a dataset whose rows point at other rows (articles: their
family, subfamily, nature, unit and VAT rate) also has a function creating those rows
for a tenant. P2 and P3 run on ``articles`` (the heaviest list of the back office);
the light parameter tables stay selectable for comparison
(``python -m benchmarks P3 --dataset units``).
"""
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

NOUNS = ("Vis", "Écrou", "Boulon", "Cheville", "Rondelle", "Tige filetée", "Clou", "Agrafe", "Équerre",
         "Platine", "Charnière", "Serrure", "Poignée", "Câble", "Gaine", "Tube", "Raccord", "Coude",
         "Manchon", "Collier", "Joint", "Disque", "Foret", "Embout", "Cornière")
QUALIFIERS = ("tête fraisée", "tête bombée", "à frapper", "autoforeuse", "hexagonale", "à sceller",
              "striée", "lisse", "renforcée", "isolée", "coudée", "droite", "souple", "rigide",
              "étanche", "ignifugée", "galvanisée", "zinguée", "laquée", "brossée")
MATERIALS = ("acier", "inox A2", "inox A4", "laiton", "cuivre", "aluminium", "zamak", "PVC", "polyamide",
             "nylon", "bronze", "fonte", "titane", "chêne", "hêtre", "sapin", "béton", "caoutchouc",
             "silicone", "verre")
CITIES = ("Lyon", "Villeurbanne", "Vénissieux", "Grenoble", "Échirolles", "Chambéry", "Annecy",
          "Saint-Étienne", "Bourg-en-Bresse", "Valence", "Vienne", "Mâcon", "Roanne", "Oyonnax",
          "Villefranche-sur-Saône", "Bron", "Caluire-et-Cuire", "Meyzieu", "Voiron", "Aix-les-Bains")
STREETS = ("rue de la République", "avenue Jean Jaurès", "boulevard des Belges", "rue Victor Hugo",
           "chemin des Étangs", "route de Genève", "quai Perrache", "allée des Tilleuls")


def article_like_label(i: int) -> str:
    """'Vis tête fraisée laiton 4x40 réf 0000123': the material is in the middle of the label
    and each material word is in 1 row in 20 (5 %)."""
    noun = NOUNS[i % len(NOUNS)]
    qualifier = QUALIFIERS[(i // len(NOUNS)) % len(QUALIFIERS)]
    material = MATERIALS[(i // 7) % len(MATERIALS)]
    return f"{noun} {qualifier} {material} {3 + i % 9}x{10 * (1 + i % 13)} réf {i:07d}"


@dataclass(frozen=True)
class Dataset:
    resource: str                         # the list's URL name
    model_name: str                       # the model's class name in ``models``
    table: str
    make_row: Callable[..., dict]         # row number [, related ids] -> column values (tenant_id added)
    code_prefix: str
    text_word: str                        # a word found in the middle of labels (free-text search)
    make_label: Callable[[int], str] = article_like_label
    # tenant id -> the ids of the rows the dataset's rows point at (created once per tenant)
    make_related: Callable[[int], dict] | None = None
    related_tables: tuple[str, ...] = ()  # analyzed with the dataset's table

    @property
    def model(self):
        import models

        return getattr(models, self.model_name)

    @property
    def tables(self) -> list[str]:
        return [self.table, *self.related_tables]

    def code(self, i: int) -> str:
        return f"{self.code_prefix}{i:07d}"

    def label(self, i: int) -> str:
        return self.make_label(i)

    def load(self, tenant_id: int, start: int, stop: int, code_suffix: str = "") -> None:
        """Insert rows ``start`` to ``stop`` of the tenant (and, the first time, the rows
        they point at); ``code_suffix`` is appended to every code."""
        from benchmarks.harness import bulk_insert

        related = self.make_related(tenant_id) if self.make_related else None

        def make_row(i: int) -> dict:
            row = self.make_row(i, related) if related is not None else self.make_row(i)
            return {**row, "code": self.code(i) + code_suffix} if code_suffix else row
        bulk_insert(self.model, tenant_id, make_row, start, stop)


def _unit(i: int) -> dict:
    return {"code": f"U{i:07d}", "label": article_like_label(i)}


def _establishment_label(i: int) -> str:
    return f"Agence {CITIES[i % len(CITIES)]} {article_like_label(i)[:24]}"


def _establishment(i: int) -> dict:
    city = CITIES[i % len(CITIES)]
    return {"code": f"E{i:07d}", "label": _establishment_label(i),
            "address": f"{1 + i % 180} {STREETS[i % len(STREETS)]}",
            "postcode": f"{1000 + (i * 37) % 94000:05d}", "city": city}


# --- Articles: a building-trade catalogue ------------------------------------------------

# (code, label, subfamilies (code suffix, label)): the families of an electrician-plumber's catalogue.
FAMILIES = (
    ("QUIN", "Quincaillerie", (("VIS", "Visserie"), ("FIX", "Fixations et chevilles"), ("SER", "Serrurerie"))),
    ("ELEC", "Électricité", (("CAB", "Câbles et fils"), ("APP", "Appareillage"), ("TAB", "Tableaux et protection"),
                             ("ECL", "Éclairage"))),
    ("PLOM", "Plomberie", (("TUB", "Tubes et raccords"), ("ROB", "Robinetterie"), ("EVA", "Évacuation"))),
    ("CHAU", "Chauffage", (("CHA", "Chaudières"), ("RAD", "Radiateurs"), ("REG", "Régulation"))),
    ("VENT", "Ventilation", (("VMC", "VMC"), ("GAI", "Gaines et bouches"))),
    ("MENU", "Menuiserie", (("BOI", "Bois et panneaux"), ("FER", "Ferrures"), ("POR", "Portes et fenêtres"))),
    ("GROS", "Gros œuvre", (("BET", "Béton et mortier"), ("ACI", "Aciers"), ("MAC", "Maçonnerie"))),
    ("ISOL", "Isolation", (("THE", "Isolation thermique"), ("PHO", "Isolation phonique"))),
    ("PEIN", "Peinture et revêtements", (("PEI", "Peintures"), ("SOL", "Revêtements de sol"),
                                         ("MUR", "Revêtements muraux"))),
    ("OUTI", "Outillage", (("ELE", "Outillage électroportatif"), ("MAN", "Outillage à main"),
                           ("CON", "Consommables"))),
    ("SECU", "Sécurité et EPI", (("EPI", "Équipements de protection"), ("SIG", "Signalisation"))),
    ("PRES", "Prestations", (("POS", "Pose"), ("DEP", "Dépannage"), ("ETU", "Études"))),
)
# (code, label, labour): the default labour prefix of a dossier is 4MO.
NATURES = (
    ("1FOU", "Fourniture", False), ("2MAT", "Matériel", False), ("3SST", "Sous-traitance", False),
    ("4MO", "Main d'œuvre", True), ("4MOD", "Main d'œuvre de dépannage", True),
    ("4MOE", "Main d'œuvre d'étude", True), ("5LOC", "Location", False), ("6TRA", "Transport", False),
)
UNITS = (("U", "Unité", "C62"), ("M", "Mètre", "MTR"), ("ML", "Mètre linéaire", "MTR"),
         ("M2", "Mètre carré", "MTK"), ("M3", "Mètre cube", "MTQ"), ("KG", "Kilogramme", "KGM"),
         ("L", "Litre", "LTR"), ("H", "Heure", "HUR"), ("J", "Jour", "DAY"), ("FFT", "Forfait", "C62"),
         ("ENS", "Ensemble", "SET"), ("PAQ", "Paquet", "PK"), ("RLX", "Rouleau", "RO"), ("SAC", "Sac", "BG"))
VAT_RATES = (("T20", "TVA normale 20 %", "20.00"), ("T10", "TVA intermédiaire 10 %", "10.00"),
             ("T55", "TVA réduite 5,5 %", "5.50"), ("T0", "Exonéré", "0.00"))
LABOUR_EVERY = 8                     # one article in 8 is labour (nature 4MO…, unit H, family PRES)
LABOUR_WORK = ("Pose", "Dépose", "Remplacement", "Réglage", "Dépannage", "Mise en service")
SUPPLY_UNITS = ("U", "U", "U", "M", "ML", "M2", "KG", "L", "ENS", "PAQ", "RLX", "SAC", "M3", "FFT")


def _article_label(i: int) -> str:
    """The label of article ``i``: a labour article says the work done on a supply."""
    label = article_like_label(i)
    if i % LABOUR_EVERY == 0:
        return f"{LABOUR_WORK[(i // LABOUR_EVERY) % len(LABOUR_WORK)]} {label[0].lower()}{label[1:]}"
    return label


def _article_related(tenant_id: int) -> dict:
    """The tenant's families and subfamilies, natures, units and VAT rates (created once):
    ``{"families": [(family id, [subfamily ids])], "natures": {code: id}, …}``."""
    from core.extensions import db
    from models import ArticleFamily, ProductNature, Unit, VatRate

    def ids(model, rows: list[dict]) -> dict[str, int]:
        existing = dict(db.session.query(model.code, model.id).filter(model.tenant_id == tenant_id))
        missing = [row for row in rows if row["code"] not in existing]
        if missing:
            db.session.execute(model.__table__.insert(), [{"tenant_id": tenant_id, **row} for row in missing])
            existing = dict(db.session.query(model.code, model.id).filter(model.tenant_id == tenant_id))
        return existing

    family_ids = ids(ArticleFamily, [{"code": code, "label": label} for code, label, _subs in FAMILIES])
    subfamily_ids = ids(ArticleFamily, [{"code": f"{code}-{sub}", "label": sub_label, "parent_id": family_ids[code]}
                                        for code, _label, subs in FAMILIES for sub, sub_label in subs])
    related = {
        "families": [(family_ids[code], [subfamily_ids[f"{code}-{sub}"] for sub, _l in subs])
                     for code, _label, subs in FAMILIES],
        "natures": ids(ProductNature, [{"code": code, "label": label} for code, label, _labour in NATURES]),
        "units": ids(Unit, [{"code": code, "label": label, "un_ece_code": un_ece} for code, label, un_ece in UNITS]),
        "vat_rates": ids(VatRate, [{"code": code, "label": label, "rate": Decimal(rate)}
                                   for code, label, rate in VAT_RATES]),
    }
    db.session.commit()
    related["labour_natures"] = [related["natures"][code] for code, _label, labour in NATURES if labour]
    related["supply_natures"] = [related["natures"][code] for code, _label, labour in NATURES if not labour]
    return related


CENT, TENTH_OF_CENT = Decimal("0.01"), Decimal("0.0001")


def _article(i: int, related: dict) -> dict:
    """Article ``i``: labour one in 8 (hourly, in the Prestations family, VAT 10 % on
    renovation work one in 3), supplies spread over the other families, natures and units;
    prices from 0.05 to about 2,500 euros with their margins; one in 40 inactive."""
    labour = i % LABOUR_EVERY == 0
    families = related["families"]
    if labour:
        family, subfamilies = families[-1]
        nature = related["labour_natures"][(i // LABOUR_EVERY) % len(related["labour_natures"])]
        unit = related["units"]["H"]
        purchase = None
        cost = Decimal(28 + i % 23)
        vat = related["vat_rates"]["T10" if i % 3 == 0 else "T20"]
    else:
        family, subfamilies = families[(i // 3) % (len(families) - 1)]
        nature = related["supply_natures"][(i // 5) % len(related["supply_natures"])]
        unit = related["units"][SUPPLY_UNITS[i % len(SUPPLY_UNITS)]]
        purchase = (Decimal(5 + (i * 7919) % 250_000) * CENT).quantize(TENTH_OF_CENT)
        cost = (purchase * Decimal("1.08")).quantize(TENTH_OF_CENT)
        vat = related["vat_rates"]["T55" if i % 50 == 0 else "T0" if i % 97 == 0 else "T20"]
    return {
        "code": f"A{i:07d}", "label": _article_label(i),
        "family_id": family, "subfamily_id": subfamilies[i % len(subfamilies)],
        "nature_id": nature, "unit_id": unit, "vat_rate_id": vat,
        "net_purchase_price": purchase, "cost_price": cost,
        "weighted_average_cost": None if labour else (cost * Decimal("1.01")).quantize(TENTH_OF_CENT),
        "standard_cost": cost if i % 4 else None,
        "sale_price": (cost * Decimal("1.35" if labour else "1.42")).quantize(CENT),
        "available_for_export": i % 10 != 0, "active": i % 40 != 0,
    }


DATASETS = {
    "articles": Dataset("articles", "Article", "articles", _article, "A", "LAITON", _article_label,
                        _article_related, ("article_families", "product_natures", "units", "vat_rates")),
    "units": Dataset("units", "Unit", "units", _unit, "U", "LAITON"),
    "establishments": Dataset("establishments", "Establishment", "establishments", _establishment, "E",
                              "LAITON", _establishment_label),
}

EXPORT_DATASET = "articles"   # P2: the export (14 columns, 5 of them relations by code)
LIST_DATASET = "articles"     # P3: the list screen (5 relations joined, the labour / supply column)
