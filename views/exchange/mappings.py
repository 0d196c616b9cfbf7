"""``/admin/article-mappings/``: the article ↔ external code of each connector (unique both
ways, ``rules.mappings``), listed, exported and imported like any table, and typed in
bulk on the grid ``/admin/article-mappings/bulk/`` (pick the connector, show the
exportable articles or a family / text filter, type the codes, save them all at once:
duplicates refused with the rows named). Back-office users and above write; viewers read.
"""
from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import or_

from core import transaction
from core.search import search_clause
from core.tenancy import MASTER_DATA_WRITERS, current_tenant_id, tenant_query, valid_id
from models import Article, ArticleFamily
from models.exchange import Connector
from rules.mappings import MappingError, mappings_of_connector, save_mappings
from spreadsheets import cells
from spreadsheets.mappings_file import FIELDS, import_mappings
from views.base import SecuredModelView

GRID_PAGE_SIZE = 100
GRID_SCOPES = ("exportable", "all")
MAX_FILTER_LENGTH = 200


class ArticleMappingView(SecuredModelView):
    write_roles = MASTER_DATA_WRITERS
    list_template = "exchange/mapping_list.html"
    column_default_sort = ("external_code", False)
    column_list = column_export_list = form_columns = FIELDS
    column_searchable_list = ("external_code",)
    column_filters = ("connector.code", "article.code", "external_code")
    column_sortable_list = (("connector", "connector.code"), ("article", "article.code"), "external_code")
    form_ajax_refs = {"article": {"fields": ("code", "label"), "page_size": 20}}

    def import_file(self, data: bytes, filename: str, tenant_id: int, dry_run: bool = False):
        return import_mappings(data, filename, tenant_id, dry_run=dry_run)

    # The bulk grid
    @expose("/bulk/", methods=("GET", "POST"))
    def bulk_view(self):
        connectors = tenant_query(Connector).order_by(Connector.code).all()
        families = tenant_query(ArticleFamily).order_by(ArticleFamily.code).all()
        source = request.form if request.method == "POST" else request.args
        connector = self._chosen_connector(source.get("connector"), connectors)
        scope = source.get("scope") if source.get("scope") in GRID_SCOPES else "exportable"
        family = next((f for f in families if f.code == cells.clean_text(source.get("family"))), None)
        text = cells.clean_text(source.get("q"))[:MAX_FILTER_LENGTH]
        page = max(min(source.get("page", 0, type=int), self.MAX_PAGE), 0)
        typed, errors = {}, {}
        if request.method == "POST":
            if connector is None:
                abort(404)
            typed, errors, saved = self._save_grid(connector)
            if saved:
                return redirect(self.get_url(".bulk_view", connector=connector.code, scope=scope,
                                             family=family.code if family else None, q=text or None, page=page))
        articles, more = [], False
        if connector is not None:
            query = self._grid_query(scope, family, text)
            articles = query.order_by(Article.code).offset(page * GRID_PAGE_SIZE).limit(GRID_PAGE_SIZE + 1).all()
            more, articles = len(articles) > GRID_PAGE_SIZE, articles[:GRID_PAGE_SIZE]
            # rows posted but not on this page any more (another filter) are shown too
            shown = {article.id for article in articles}
            missing = [row_id for row_id in typed if row_id not in shown]
            if missing:
                articles += tenant_query(Article).filter(Article.id.in_(missing)).order_by(Article.code).all()
        codes = mappings_of_connector(connector.id) if connector is not None else {}
        return self.render("exchange/mapping_grid.html", connectors=connectors, families=families,
                           connector=connector, scope=scope, family=family, text=text, page=page, more=more,
                           articles=articles, codes=codes, typed=typed, errors=errors)

    @staticmethod
    def _chosen_connector(value, connectors):
        value = cells.clean_text(value)
        return next((c for c in connectors if c.code == value), None) if value else None

    @staticmethod
    def _grid_query(scope: str, family, text: str):
        query = tenant_query(Article)
        if scope == "exportable":
            query = query.filter(Article.available_for_export.is_(True))
        if family is not None:
            query = query.filter(or_(Article.family_id == family.id, Article.subfamily_id == family.id))
        if text:
            clause = search_clause(Article, ("code", "label"), text)
            if clause is not None:
                query = query.filter(clause)
        return query

    def _save_grid(self, connector):
        """Save the posted grid: (typed codes by article id, errors by article id, saved)."""
        typed: dict[int, str] = {}
        for raw_id in request.form.getlist("article")[:GRID_PAGE_SIZE * 2]:
            article_id = valid_id(Article, raw_id)
            if article_id is None:
                abort(400)
            typed[article_id] = request.form.get(f"code-{article_id}", "")
        names = dict(tenant_query(Article).filter(Article.id.in_(list(typed))).with_entities(Article.id, Article.code)
                     .all()) if typed else {}
        if set(typed) - set(names):
            abort(404)  # an article of another dossier, or none
        rows = [{"article_id": article_id, "external_code": code, "name": names[article_id]}
                for article_id, code in typed.items()]
        try:
            result = save_mappings(current_tenant_id(), connector.id, rows)
        except MappingError:
            abort(404)
        if not result.ok:
            transaction.rollback()
            ids = list(typed)
            errors = {ids[index]: message for index, message in result.errors.items()}
            flash(_("Nothing was saved: correct the rows in red (%(count)s).", count=len(errors)), "error")
            return typed, errors, False
        transaction.commit()
        flash(_("Mappings saved: %(created)s, %(updated)s, %(removed)s.",
                created=ngettext("%(num)s created", "%(num)s created", result.created),
                updated=ngettext("%(num)s changed", "%(num)s changed", result.updated),
                removed=ngettext("%(num)s removed", "%(num)s removed", result.removed)), "success")
        return typed, {}, True
