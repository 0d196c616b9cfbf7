"""The one secured base view every screen inherits.

Decided here and nowhere else: login, the role table of ``interfaces.md``,
tenant scoping of lists, counts, details, edits, deletes, exports, relation
choices and AJAX look-ups, CSRF (Flask-WTF forms), the business rules run on
save and delete, and the XLSX export.
"""
import os
import tempfile
from datetime import date, datetime
from decimal import Decimal

from flask import abort, after_this_request, current_app, flash, redirect, request, send_file, url_for
from flask_admin import BaseView, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.contrib.sqla.fields import QuerySelectField
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.helpers import is_form_submitted
from flask_admin.model import typefmt
from flask_admin.model.form import converts
from flask_login import current_user
from flask_wtf import FlaskForm
from jinja2 import pass_context
from sqlalchemy import or_
from sqlalchemy.orm import Query
from wtforms.fields import DecimalField
from wtforms.validators import ValidationError

from core.extensions import db
from core.glossary import FIELD_LABELS, SETTINGS_LABELS
from core.search import search_clause
from core.tenancy import EVERYONE, PARAMETER_WRITERS, current_role, current_tenant_id, one_or_404, tenant_query
from models.base import TenantScoped
from rules.parameters import ROW_RULES, code_errors, deletion_errors
from spreadsheets import catalog, xlsx
from spreadsheets.resources import fields_of, select_columns, stream_rows
from views.formatters import date_formatter, datetime_formatter, decimal_formatter, yes_no_formatter
from views.importing import ImportMixin


class SecureForm(FlaskForm):
    """Flask-Admin forms with Flask-WTF's CSRF token (the one ``CSRFProtect`` checks)."""


class RoleGate:
    """Login and role checks shared by model views and custom screens."""

    read_roles = EVERYONE
    write_roles = PARAMETER_WRITERS

    def is_accessible(self) -> bool:
        return (current_user.is_authenticated and current_tenant_id() is not None
                and current_role() in self.read_roles)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)

    @property
    def can_write(self) -> bool:
        return current_role() in self.write_roles

    def create_blueprint(self, admin):
        """Added to the admin: a screen that exports enters the table catalogue under its URL name."""
        blueprint = super().create_blueprint(admin)
        catalog.register(admin.app, self)
        return blueprint


class SecuredView(RoleGate, BaseView):
    """Base of custom (non-model) screens."""


class TenantQuerySelectField(QuerySelectField):
    """A relation select that refuses a value it does not offer (Flask-Admin's own turns
    an unknown id, such as another tenant's, into an empty choice when blank is allowed)."""

    def pre_validate(self, form):
        if self.data is None and self._formdata not in (None, "", "__None"):
            raise ValidationError(self.gettext("Not a valid choice"))
        super().pre_validate(form)


class DecimalCommaField(DecimalField):
    """A decimal input that also takes the French way of typing it: ``1 234,50``."""

    def process_formdata(self, valuelist):
        if valuelist:
            valuelist = [value.replace("\u00a0", "").replace(" ", "").replace(",", ".") for value in valuelist]
        super().process_formdata(valuelist)


class TenantModelConverter(AdminModelConverter):
    """Relation selects offer only rows of the current tenant, and accept nothing else."""

    @converts("Numeric")
    def handle_decimal_types(self, column, field_args, **extra):
        field_args.setdefault("places", None)
        return DecimalCommaField(**field_args)

    def _model_select_field(self, prop, multiple, remote_model, **kwargs):
        has_loader = getattr(self.view, "_form_ajax_refs", {}).get(prop.key)
        kwargs.setdefault("blank_text", "—")
        if issubclass(remote_model, TenantScoped) and not has_loader:
            order = getattr(remote_model, "code", remote_model.id)
            kwargs["query_factory"] = lambda: tenant_query(remote_model).order_by(order)
            if not multiple:
                return TenantQuerySelectField(**kwargs)
        return super()._model_select_field(prop, multiple, remote_model, **kwargs)


class TenantAjaxLoader(QueryAjaxModelLoader):
    """AJAX look-ups restricted to the current tenant, searched by prefix of code or label."""

    def get_query(self):
        return tenant_query(self.model)

    def get_one(self, pk):
        try:
            row_id = int(pk)
        except (TypeError, ValueError):
            return None
        return self.get_query().filter(self.model.id == row_id).one_or_none()

    def get_list(self, term, offset=0, limit=20):
        query = self.get_query()
        if term:
            query = query.filter(or_(*(field.ilike(f"{term}%") for field in self._cached_fields)))
        return query.order_by(*self._cached_fields).offset(offset).limit(limit).all()


class CappedCountQuery:
    """A count query that stops counting at ``cap`` rows: a list never counts a large
    table in full; above the cap the list shows a simple previous / next pager."""

    def __init__(self, query: Query, cap: int):
        self._query, self._cap = query, cap

    def __getattr__(self, name):
        attribute = getattr(self._query, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            result = attribute(*args, **kwargs)
            return CappedCountQuery(result, self._cap) if isinstance(result, Query) else result
        return call

    def scalar(self):
        count = self._query.limit(self._cap + 1).count()
        return None if count > self._cap else count


class SecuredModelView(ImportMixin, RoleGate, ModelView):
    """A tenant's table: list, create, edit, delete and XLSX export, scoped and checked."""

    form_base_class = SecureForm
    list_template = "passerelle/list.html"
    model_form_converter = TenantModelConverter
    create_modal = False
    edit_modal = False
    can_view_details = True
    can_export = True
    export_types = ["xlsx"]
    can_set_page_size = True
    page_size = 50
    column_default_sort = "code"
    column_searchable_list = ("code", "label")
    form_excluded_columns = ("tenant", "tenant_id")
    column_exclude_list = ("tenant",)
    column_details_exclude_list = ("tenant",)
    column_type_formatters = {**typefmt.BASE_FORMATTERS, date: date_formatter, datetime: datetime_formatter,
                              Decimal: decimal_formatter}
    column_type_formatters_detail = {**typefmt.DETAIL_FORMATTERS, date: date_formatter, datetime: datetime_formatter,
                                     Decimal: decimal_formatter, bool: yes_no_formatter}
    allow_create = allow_edit = allow_delete = True

    def __init__(self, model, *args, **kwargs):
        labels = {**FIELD_LABELS, **SETTINGS_LABELS, **(self.column_labels or {})}
        self.column_labels = labels
        if self.column_details_list is None and self.column_export_list:
            self.column_details_list = self.column_export_list
        super().__init__(model, db.session, *args, **kwargs)

    @pass_context
    def get_list_value(self, context, model, name):
        """In lists, a related row shows its code (its label is on hover in details)."""
        value = super().get_list_value(context, model, name)
        return getattr(value, "code", value) if isinstance(value, db.Model) else value

    # Roles
    @property
    def can_create(self):
        return self.allow_create and self.can_write

    @property
    def can_edit(self):
        return self.allow_edit and self.can_write

    @property
    def can_delete(self):
        return self.allow_delete and self.can_write

    # Forbidden actions are 403 (Flask-Admin would only redirect to the list).
    PERMISSIONS = {"create_view": "can_create", "edit_view": "can_edit", "delete_view": "can_delete",
                   "details_view": "can_view_details"}

    def _handle_view(self, name, **kwargs):
        response = super()._handle_view(name, **kwargs)
        if response is None:
            permission = self.PERMISSIONS.get(name)
            if permission and not getattr(self, permission):
                abort(403)
            if name == "action_view" and not self.is_action_allowed(request.form.get("action", "")):
                abort(403)
        return response

    # Tenant scoping
    def get_query(self):
        return tenant_query(self.model)

    def get_count_query(self):
        query = db.session.query(self.model.id).filter(self.model.tenant_id == current_tenant_id())
        return CappedCountQuery(query, current_app.config["LIST_EXACT_COUNT_LIMIT"])

    def get_one(self, id):
        return one_or_404(self.get_query(), self.model, id)

    def _create_ajax_loader(self, name, options):
        attribute = getattr(self.model, name)
        remote_model = attribute.property.mapper.class_
        return TenantAjaxLoader(name, db.session, remote_model, **options)

    def _apply_search(self, query, count_query, joins, count_joins, search):
        clause = search_clause(self.model, self.column_searchable_list, search)
        if clause is None:
            return query, count_query, joins, count_joins
        query = query.filter(clause)
        if count_query is not None:
            count_query = count_query.filter(clause)
        return query, count_query, joins, count_joins

    # Saving: business rules next to their fields, tenant of new rows
    def validate_form(self, form) -> bool:
        """Field validation and every business rule, all reported at once next to the fields."""
        if not is_form_submitted():
            return False
        valid = form.validate()
        if isinstance(form, (self._delete_form_class, self._action_form_class)):
            return valid  # the rules of a row are checked on save; deleting has on_model_delete
        errors = self.row_errors(form)
        for field, message in errors.items():
            target = form[field] if field in form else None
            if target is None:
                flash(message, "error")
            elif not target.errors:
                target.errors = [message]
        return valid and not errors

    def row_errors(self, form) -> dict[str, str]:
        values = {name: field.data for name, field in form._fields.items()}
        row_id = request.args.get("id", type=int) if request.endpoint.endswith("edit_view") else None
        errors = {}
        if "code" in values:
            errors.update(code_errors(self.model, values, current_tenant_id(), row_id))
        rule = ROW_RULES.get(self.model)
        if rule:
            for field, message in rule(values, current_tenant_id(), row_id).items():
                errors.setdefault(field, message)
        return errors

    def on_model_change(self, form, model, is_created):
        if is_created:
            model.tenant_id = current_tenant_id()
        elif model.tenant_id != current_tenant_id():
            abort(404)

    def on_model_delete(self, model):
        messages = deletion_errors(model)
        if messages:
            raise ValidationError(" ".join(messages))

    @action(*ModelView.action_delete._action)
    def action_delete(self, ids):
        """The bulk delete of the list, with the row ids as integers: PostgreSQL (psycopg 3)
        refuses ``id IN ('3')`` (integer = character varying)."""
        return super().action_delete(tuple(int(i) for i in ids if str(i).isdigit()))

    # Export
    @expose("/export/<export_type>/")
    def export(self, export_type):
        if export_type != "xlsx":
            abort(404)
        view_args = self._get_list_extra_args()
        sort_column = self._get_column_by_idx(view_args.sort)
        query = self.filtered_query(view_args.search, view_args.filters,
                                    sort_column[0] if sort_column else None, view_args.sort_desc)
        path = self.write_export(query)

        @after_this_request
        def _remove(response):
            response.call_on_close(lambda: os.unlink(path))
            return response

        return send_file(path, as_attachment=True, download_name=self.export_filename(),
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    def filtered_query(self, search=None, filters=None, sort_column=None, sort_desc=False):
        """The ORM query of the rows a list shows (all pages): tenant, search, filters, sort."""
        query, joins = self.get_query(), {}
        if search:
            query, _count, joins, _cj = self._apply_search(query, None, joins, {}, search)
        if filters and self._filters:
            query, _count, joins, _cj = self._apply_filters(query, None, joins, {}, filters)
        query, joins = self._apply_sorting(query, joins, sort_column, sort_desc)
        return query.order_by(self.model.id)

    def export_field_names(self) -> list[str]:
        return list(self.column_export_list or [name for name, _label in self._export_columns])

    def write_export(self, query) -> str:
        """Write the rows of ``query`` to a temporary XLSX file and return its path."""
        fields = fields_of(self.model, self.export_field_names())
        rows = stream_rows(select_columns(query, self.model, fields),
                           current_app.config["EXPORT_BATCH_SIZE"])
        handle, path = tempfile.mkstemp(suffix=".xlsx")
        os.close(handle)
        xlsx.write_xlsx(path, str(self.name), [field.column for field in fields], rows)
        return path

    def export_filename(self) -> str:
        return f"{self.endpoint}_{date.today():%Y%m%d}.xlsx"
