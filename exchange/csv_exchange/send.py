"""Send: the article, client and contact files for the partner, in the export folder.

Per the settings: articles (``exportable_only``: active articles available for
export; ``custom_filter``: active articles whose family or subfamily is among
``article_filter``; ``none``), clients (``all`` not deactivated; ``custom_filter``:
of the families of ``client_filter``; ``none``), contacts of the sent clients when
``include_contacts``. Only the rows changed since the last successful send are
written (``exchange.sent``; *Tout renvoyer*: all); a file with no row is not
written. Files are named ``Articles_<yyyymmddHHMMSS>.csv`` (Europe/Paris time) and
written atomically (``spreadsheets.csv_files.write_csv``).
"""
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from core.clock import to_business_time
from core.extensions import db
from core.paths import absolute_folder
from exchange.base import RunFailed
from exchange.csv_exchange.settings import family_codes
from exchange.sent import changed, remember
from models import Article, ArticleFamily, ArticleMapping, Client, ClientFamily, Contact, Unit, VatRate
from models.base import utcnow
from spreadsheets.csv_files import write_csv

ARTICLES_HEADER = ("CodeArticle", "CodeExterne", "Libelle", "Famille", "SousFamille", "Unite", "PrixVente", "TauxTVA")
CLIENTS_HEADER = ("Code", "Nom", "Adresse", "CodePostal", "Ville", "Pays", "Email", "Telephone", "NumTVA")
CONTACTS_HEADER = ("CodeClient", "Nom", "Email", "Telephone", "Fonction")


def decimal_text(value) -> str:
    """A decimal as the partner reads it: comma separator, no useless zeros (``71,88``)."""
    if value is None:
        return ""
    number = Decimal(value).normalize()
    text = f"{number:f}"
    return text.replace(".", ",")


def article_rows(connector) -> dict[str, list]:
    settings, tenant_id = connector.settings or {}, connector.tenant_id
    mode = settings.get("articles_mode") or "none"
    if mode == "none":
        return {}
    family, subfamily = aliased(ArticleFamily), aliased(ArticleFamily)
    query = (select(Article.code, ArticleMapping.external_code, Article.label, family.code, subfamily.code, Unit.code,
                    Article.sale_price, VatRate.rate)
             .outerjoin(ArticleMapping, (ArticleMapping.article_id == Article.id)
                        & (ArticleMapping.connector_id == connector.id))
             .outerjoin(family, family.id == Article.family_id).outerjoin(subfamily, subfamily.id == Article.subfamily_id)
             .outerjoin(Unit, Unit.id == Article.unit_id).outerjoin(VatRate, VatRate.id == Article.vat_rate_id)
             .where(Article.tenant_id == tenant_id, Article.active.is_(True)).order_by(Article.code))
    if mode == "exportable_only":
        query = query.where(Article.available_for_export.is_(True))
    else:
        codes = family_codes(settings.get("article_filter"))
        query = query.where(or_(family.code.in_(codes), subfamily.code.in_(codes)))
    unit = settings.get("unit") or ""
    return {row[0]: [row[0], row[1] or "", row[2], row[3] or "", row[4] or "", unit or row[5] or "",
                     decimal_text(row[6]), decimal_text(row[7])] for row in db.session.execute(query)}


def client_rows(connector) -> dict[str, list]:
    settings, tenant_id = connector.settings or {}, connector.tenant_id
    mode = settings.get("clients_mode") or "none"
    if mode == "none":
        return {}
    query = (select(Client.code, Client.name, Client.address, Client.postcode, Client.city, Client.country,
                    Client.email, Client.phone, Client.vat_number)
             .where(Client.tenant_id == tenant_id, Client.deactivated.is_(False)).order_by(Client.code))
    if mode == "custom_filter":
        query = query.join(ClientFamily, ClientFamily.id == Client.client_family_id).where(
            ClientFamily.code.in_(family_codes(settings.get("client_filter"))))
    return {row[0]: [value or "" for value in row] for row in db.session.execute(query)}


def contact_rows(connector, client_codes) -> dict[str, list]:
    if not (connector.settings or {}).get("include_contacts") or not client_codes:
        return {}
    query = (select(Contact.code, Client.code, Contact.name, Contact.email, Contact.phone, Contact.role)
             .join(Client, Client.id == Contact.client_id)
             .where(Contact.tenant_id == connector.tenant_id, Client.code.in_(list(client_codes)))
             .order_by(Client.code, Contact.code))
    return {row[0]: [value or "" for value in row[1:]] for row in db.session.execute(query)}


def send(run) -> None:
    connector = run.connector
    articles = article_rows(connector)
    clients = client_rows(connector)
    contacts = contact_rows(connector, clients)
    db.session.rollback()
    files = [("article", "Articles", ARTICLES_HEADER, articles), ("client", "Clients", CLIENTS_HEADER, clients),
             ("contact", "Contacts", CONTACTS_HEADER, contacts)]
    wanted = [entry for entry in files if entry[3]]
    run.set_total(sum(len(rows) for *_rest, rows in wanted))
    if not wanted:
        return
    folder_setting = (connector.settings or {}).get("export_folder")
    if not folder_setting:
        raise RunFailed(_("No export folder is set for this connector."))
    try:
        folder = absolute_folder(folder_setting)
    except ValueError as error:
        raise RunFailed(str(error))
    stamp = to_business_time(utcnow()).strftime("%Y%m%d%H%M%S")
    for entity, prefix, header, rows in wanted:
        payloads = {key: {"row": row} for key, row in rows.items()}
        to_send, unchanged = changed(connector.id, entity, payloads, run.full_send)
        name = _free_name(folder, prefix, stamp)
        item_type = "party" if entity == "contact" else entity
        for key in to_send:
            run.item(item_type, key, "ok", "", name)
        if not to_send:
            run.item("file", name, "skipped", ngettext("Nothing changed since the last send (%(num)s row unchanged).",
                                                       "Nothing changed since the last send (%(num)s rows unchanged).",
                                                       unchanged), name)
            continue
        if not run.dry_run:
            write_csv(folder, name, header, [payload["row"] for payload in to_send.values()])
        remember(run, entity, to_send)
        run.item("file", name, "ok", _("%(written)s, %(unchanged)s.", written=ngettext(
            "%(num)s row written", "%(num)s rows written", len(to_send)), unchanged=ngettext(
            "%(num)s unchanged not sent", "%(num)s unchanged not sent", unchanged)), name)


def _free_name(folder, prefix: str, stamp: str) -> str:
    """``Prefix_<stamp>.csv``, or ``Prefix_<stamp>_2.csv``… while a file of that name is
    still there (two sends in one second, of this connector or of another writing to the
    same folder): a file the partner has not taken yet is never replaced."""
    name, number = f"{prefix}_{stamp}.csv", 1
    while (folder / name).exists():
        number += 1
        name = f"{prefix}_{stamp}_{number}.csv"
    return name
