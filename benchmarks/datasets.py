"""Generated rows of the benchmarked lists, deterministic (row ``i`` is always the same).

A dataset names the list (its URL name, ``/admin/<resource>/``), its model and a
function making row ``i``. Articles do not exist yet: P2 and P3 use parameter
tables; when articles come, add an ``articles`` dataset here and point
``EXPORT_DATASET`` / ``LIST_DATASET`` at it (or pass its name on the command
line: ``python -m benchmarks P3 --dataset articles``).
"""
from dataclasses import dataclass
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
    make_row: Callable[[int], dict]       # row number -> column values (tenant_id added by the loader)
    code_prefix: str
    text_word: str                        # a word found in the middle of labels (free-text search)

    @property
    def model(self):
        import models

        return getattr(models, self.model_name)

    def code(self, i: int) -> str:
        return f"{self.code_prefix}{i:07d}"


def _unit(i: int) -> dict:
    return {"code": f"U{i:07d}", "label": article_like_label(i)}


def _establishment(i: int) -> dict:
    city = CITIES[i % len(CITIES)]
    return {"code": f"E{i:07d}", "label": f"Agence {city} {article_like_label(i)[:24]}",
            "address": f"{1 + i % 180} {STREETS[i % len(STREETS)]}",
            "postcode": f"{1000 + (i * 37) % 94000:05d}", "city": city}


DATASETS = {
    "units": Dataset("units", "Unit", "units", _unit, "U", "LAITON"),
    "establishments": Dataset("establishments", "Establishment", "establishments", _establishment, "E",
                              "LAITON"),
}

EXPORT_DATASET = "establishments"   # P2: the export (5 text columns); "articles" when they exist
LIST_DATASET = "units"              # P3: the list screen; "articles" when they exist
