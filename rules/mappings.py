"""Article mappings: an internal article ↔ a partner's external code, per connector,
unique both ways (one code per article, one article per code, within a connector).

Edited in several places (the article's form, the bulk grid, the reception screen, the
``/admin/article-mappings/`` list and its import): all of them go through these
functions. Flush only.
"""
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from core.extensions import db
from core.tenancy import valid_id
from models import Article
from models.exchange import ArticleMapping, Connector
from spreadsheets import cells

LOOKUP_BATCH = 5000  # codes per query: far below PostgreSQL's 65,535 bound parameters
EXTERNAL_CODE_LIMITS = cells.limits_of(ArticleMapping.__table__.c.external_code)


class MappingError(ValueError):
    """A mapping refused, with the message for the user (``errors``: field → message)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(" ".join(errors.values()))
        self.errors = errors


def clean_external_code(value) -> str:
    """An external code as stored: text, NUL bytes removed, stripped, within the column
    (raises ``spreadsheets.cells.CellError``, a ValueError with the French message)."""
    return cells.parse_text(value, EXTERNAL_CODE_LIMITS)


def mapped_articles(connector_id: int, external_codes: Iterable[str]) -> dict[str, int]:
    """``{external_code: article_id}`` of the connector's mappings among ``external_codes``
    (codes without a mapping are absent), ``LOOKUP_BATCH`` codes per query."""
    codes, found = sorted({code for code in external_codes if code}), {}
    for start in range(0, len(codes), LOOKUP_BATCH):
        chunk = codes[start:start + LOOKUP_BATCH]
        found.update(db.session.execute(
            select(ArticleMapping.external_code, ArticleMapping.article_id).where(
                ArticleMapping.connector_id == connector_id, ArticleMapping.external_code.in_(chunk))).all())
    return found


def mappings_of_connector(connector_id: int) -> dict[int, str]:
    """``{article_id: external_code}`` of every mapping of a connector."""
    return dict(db.session.execute(
        select(ArticleMapping.article_id, ArticleMapping.external_code)
        .where(ArticleMapping.connector_id == connector_id)).all())


def _article_code(article_id: int) -> str:
    return db.session.execute(select(Article.code).where(Article.id == article_id)).scalar() or f"#{article_id}"


def mapping_errors(tenant_id: int, connector_id: int | None, article_id: int | None, external_code,
                   mapping_id: int | None = None) -> dict[str, str]:
    """What is wrong with one mapping (field → French message): connector and article of
    the dossier, an external code, and unique both ways within the connector
    (``mapping_id``: the mapping being edited, which may keep its own values)."""
    errors: dict[str, str] = {}
    connector_id = valid_id(Connector, connector_id) if connector_id is not None else None
    article_id = valid_id(Article, article_id) if article_id is not None else None
    if connector_id is None:
        errors["connector"] = _("Choose the connector.")
    elif db.session.execute(select(Connector.tenant_id).where(Connector.id == connector_id)).scalar() != tenant_id:
        errors["connector"] = _("This row belongs to another dossier.")
    if article_id is None:
        errors["article"] = _("Choose the article.")
    elif db.session.execute(select(Article.tenant_id).where(Article.id == article_id)).scalar() != tenant_id:
        errors["article"] = _("This row belongs to another dossier.")
    try:
        code = clean_external_code(external_code)
    except ValueError as error:
        errors["external_code"] = str(error)
        code = ""
    else:
        if not code:
            errors["external_code"] = _("Type the external code.")
    if errors:
        return errors
    others = select(ArticleMapping).where(ArticleMapping.connector_id == connector_id)
    if mapping_id is not None:
        others = others.where(ArticleMapping.id != mapping_id)
    same_code = db.session.execute(others.where(ArticleMapping.external_code == code)).scalars().first()
    if same_code is not None and same_code.article_id != article_id:
        errors["external_code"] = _(
            "The external code %(code)s is already mapped to the article %(article)s for this connector.",
            code=code, article=_article_code(same_code.article_id))
    same_article = db.session.execute(others.where(ArticleMapping.article_id == article_id)).scalars().first()
    if same_article is not None:
        errors["article"] = _(
            "This article already has the external code %(code)s for this connector.",
            code=same_article.external_code)
    return errors


def map_article(tenant_id: int, connector_id: int, article_id: int, external_code) -> ArticleMapping:
    """Map ``article_id`` to ``external_code`` for the connector (the reception screen's
    in-place mapping, the article's form): the article's mapping is created or its code
    changed. Raises ``MappingError`` when the code is another article's, or invalid."""
    existing = db.session.execute(select(ArticleMapping).where(
        ArticleMapping.connector_id == connector_id, ArticleMapping.article_id == article_id)).scalar_one_or_none()
    errors = mapping_errors(tenant_id, connector_id, article_id, external_code,
                            existing.id if existing is not None else None)
    if errors:
        raise MappingError(errors)
    code = clean_external_code(external_code)
    if existing is None:
        existing = ArticleMapping(tenant_id=tenant_id, connector_id=connector_id, article_id=article_id,
                                  external_code=code)
        db.session.add(existing)
    else:
        existing.external_code = code
    db.session.flush()
    return existing


@dataclass
class SaveResult:
    """What ``save_mappings`` did, or why it did nothing (``errors``: row index → message)."""

    errors: dict[int, str] = field(default_factory=dict)
    error_fields: dict[int, str] = field(default_factory=dict)  # row index → "article" / "external_code"
    created: int = 0
    updated: int = 0
    removed: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def refuse(self, index: int, field_name: str, message: str) -> None:
        self.errors[index] = message
        self.error_fields[index] = field_name


def save_mappings(tenant_id: int, connector_id: int, rows: list[dict], dry_run: bool = False) -> SaveResult:
    """Save a grid of mappings of one connector, all or nothing (flushed, the caller commits).

    ``rows``: dicts with ``article_id`` and ``external_code`` (empty: the article's mapping
    is removed) and optionally ``name``, how the row is called in messages (default: its
    number, from 1). Refused, with every row named, when two rows give one external code,
    one article appears twice, or a code is already another article's (not changed by the
    grid itself). Articles of another dossier are refused too. Returns a ``SaveResult``;
    with errors nothing is changed. A connector of another dossier raises ``MappingError``.
    """
    result = SaveResult()
    if db.session.execute(select(Connector.tenant_id).where(Connector.id == connector_id)).scalar() != tenant_id:
        raise MappingError({"connector": _("This row belongs to another dossier.")})
    names = [str(row.get("name") or index + 1) for index, row in enumerate(rows)]
    wanted: dict[int, tuple[int, str]] = {}  # row index → (article id, code)
    first_row_of_article: dict[int, int] = {}
    for index, row in enumerate(rows):
        article_id = row.get("article_id")
        if not isinstance(article_id, int) or isinstance(article_id, bool) or valid_id(Article, article_id) is None:
            result.refuse(index, "article", _("Choose the article."))
            continue
        try:
            code = clean_external_code(row.get("external_code"))
        except ValueError as error:
            result.refuse(index, "external_code", str(error))
            continue
        if article_id in first_row_of_article:
            result.refuse(index, "article", _("This article is already on row %(row)s.",
                                              row=names[first_row_of_article[article_id]]))
            continue
        first_row_of_article[article_id] = index
        wanted[index] = (article_id, code)

    article_ids = sorted({article_id for article_id, _code in wanted.values()})
    tenant_articles: dict[int, str] = {}
    for start in range(0, len(article_ids), LOOKUP_BATCH):
        chunk = article_ids[start:start + LOOKUP_BATCH]
        tenant_articles.update(db.session.execute(select(Article.id, Article.code).where(
            Article.tenant_id == tenant_id, Article.id.in_(chunk))).all())
    for index, (article_id, _code) in list(wanted.items()):
        if article_id not in tenant_articles:
            result.refuse(index, "article", _("This row belongs to another dossier."))
            del wanted[index]

    current = {mapping.article_id: mapping for mapping in db.session.execute(
        select(ArticleMapping).where(ArticleMapping.connector_id == connector_id)).scalars()}
    # the codes after the save: those of the grid, and those of the articles it does not show
    in_grid = {article_id for article_id, _code in wanted.values()}
    owner_of_code = {mapping.external_code: ("db", mapping.article_id)
                     for article_id, mapping in current.items() if article_id not in in_grid}
    for index, (article_id, code) in wanted.items():
        if not code:
            continue
        owner = owner_of_code.get(code)
        if owner is None:
            owner_of_code[code] = ("row", index)
        elif owner[0] == "row":
            result.refuse(index, "external_code", _("The external code %(code)s is already on row %(row)s.",
                                                    code=code, row=names[owner[1]]))
        else:
            result.refuse(index, "external_code", _(
                "The external code %(code)s is already mapped to the article %(article)s for this connector.",
                code=code, article=_article_code(owner[1])))
    if result.errors or dry_run:
        return result

    # Codes freed by the grid first (removed, or moved to another article), then the new
    # ones: the unique (connector, external code) never sees two rows with one code.
    changes = []
    for article_id, code in wanted.values():
        mapping = current.get(article_id)
        if mapping is None:
            if code:
                changes.append((article_id, code))
        elif not code:
            db.session.delete(mapping)
            result.removed += 1
        elif mapping.external_code != code:
            db.session.delete(mapping)
            changes.append((article_id, code))
            result.updated += 1
    db.session.flush()
    for article_id, code in changes:
        db.session.add(ArticleMapping(tenant_id=tenant_id, connector_id=connector_id, article_id=article_id,
                                      external_code=code))
    result.created = len(changes) - result.updated
    db.session.flush()
    return result


def article_mapping_row_errors(values: dict, tenant_id: int, row_id: int | None) -> dict[str, str]:
    """The row rule of the ``/admin/article-mappings/`` screen (values: the form's)."""
    connector, article = values.get("connector"), values.get("article")
    return mapping_errors(tenant_id, getattr(connector, "id", None), getattr(article, "id", None),
                          values.get("external_code"), row_id)


def article_form_mapping_errors(tenant_id: int, article_id: int | None, rows: list[tuple]) -> list[str]:
    """The mappings typed on an article's form, ``rows`` of (connector id, external code):
    one per connector, a code, and not another article's code for that connector."""
    messages, seen = [], set()
    connector_codes = dict(db.session.execute(select(Connector.id, Connector.code).where(
        Connector.tenant_id == tenant_id)).all())
    for connector_id, external_code in rows:
        if connector_id not in connector_codes:
            messages.append(_("Choose the connector."))
            continue
        name = connector_codes[connector_id]
        if connector_id in seen:
            messages.append(_("The connector %(connector)s appears twice: one external code per connector.",
                              connector=name))
            continue
        seen.add(connector_id)
        try:
            code = clean_external_code(external_code)
        except ValueError as error:
            messages.append(f"{name} : {error}")
            continue
        if not code:
            messages.append(f"{name} : {_('Type the external code.')}")
            continue
        query = select(ArticleMapping.article_id).where(
            ArticleMapping.connector_id == connector_id, ArticleMapping.external_code == code)
        if article_id is not None:
            query = query.where(ArticleMapping.article_id != article_id)
        owner = db.session.execute(query).scalar()
        if owner is not None:
            messages.append(_(
                "The external code %(code)s is already mapped to the article %(article)s for this connector.",
                code=code, article=_article_code(owner)) + f" ({name})")
    return messages


MAPPING_ROW_RULES = {ArticleMapping: article_mapping_row_errors}
