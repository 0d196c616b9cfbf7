"""The one secured base view every screen inherits.

Decided here and nowhere else: login, the role table of ``interfaces.md``,
tenant scoping of lists, counts, details, edits, deletes, exports, relation
choices and AJAX look-ups, CSRF (Flask-WTF forms), the business rules run on
save and delete, and the XLSX export.
"""
import re
from datetime import date, datetime
from decimal import Decimal

from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.contrib.sqla.fields import QuerySelectField, _iter_choices_wtforms_compat
from flask_admin.contrib.sqla.filters import FilterEqual, FilterNotEqual
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.helpers import is_form_submitted
from flask_admin.model import typefmt
from flask_admin.model.fields import AjaxSelectField
from flask_admin.model.filters import BaseDateFilter, BaseDateTimeFilter
from flask_babel import gettext as _
from flask_admin.model.form import converts
from flask_login import current_user
from flask_wtf import FlaskForm
from jinja2 import pass_context
from sqlalchemy import String, or_
from sqlalchemy.orm import Query
from flask_admin.form.widgets import DatePickerWidget, DateTimePickerWidget
from wtforms.fields import Field
from wtforms.validators import NumberRange, ValidationError
from wtforms.widgets import TextInput

from core.extensions import db
from core.glossary import CHOICE_LABELS, FIELD_LABELS, SETTINGS_LABELS, choices
from core.clock import to_business_time
from core.search import PREFIX_COLUMNS, search_clause, sort_key
from core.tenancy import (
    EVERYONE, PARAMETER_WRITERS, current_role, current_tenant_id, one_or_404, tenant_query, valid_id,
)
from models.base import TenantScoped
from rules.parameters import ROW_RULES, code_errors, deletion_errors
from spreadsheets import catalog, cells, xlsx
from spreadsheets.resources import fields_of, select_columns, stream_rows
from views.downloads import send_temporary_download
from views.formatters import (
    choice_formatter, date_formatter, datetime_formatter, decimal_formatter, file_name, form_decimal, related_markup,
    related_text, yes_no_formatter,
)
from views.importing import ImportMixin


class SecureForm(FlaskForm):
    """Flask-Admin forms with Flask-WTF's CSRF token (the one ``CSRFProtect`` checks).

    The edited row is kept as ``_obj``, as Flask-Admin's own form base does: its ``Unique``
    validator (on unique columns such as a user's email) recognises the row being edited
    by it, instead of answering "already exists" for the row itself."""

    def __init__(self, *args, **kwargs):
        self._obj = kwargs.get("obj", args[1] if len(args) > 1 else None)
        super().__init__(*args, **kwargs)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RoleGate:
    """Login and role checks shared by model views and custom screens.

    Every page of a screen is open to ``read_roles``; a request that may change something
    (any method but GET / HEAD / OPTIONS) and the pages named in ``writer_pages`` (view
    method names, e.g. a template for an import) need one of ``write_roles``, or of the
    roles ``page_write_roles`` gives that page (a connector's *Lancer maintenant* is for
    back-office users too): 403 for the others, decided here for every screen rather than
    in each view."""

    read_roles = EVERYONE
    write_roles = PARAMETER_WRITERS
    writer_pages: frozenset[str] = frozenset()
    page_write_roles: dict[str, frozenset] = {}

    def _handle_view(self, name, **kwargs):
        response = super()._handle_view(name, **kwargs)
        if response is None and not self.may_write(name) and (
                request.method not in SAFE_METHODS or name in self.writer_pages):
            abort(403)
        return response

    def may_write(self, page: str) -> bool:
        """Whether the current role may change something through the page ``page``."""
        return current_role() in self.page_write_roles.get(page, self.write_roles)

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
    an unknown id, such as another tenant's, into an empty choice when blank is allowed),
    with the app's (French) message."""

    def __init__(self, *args, offered=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.offered = offered

    def iter_choices(self):
        """Only the rows ``offered`` accepts are offered (and the current value); any row of
        the tenant is still read back, so that the row rules say what is wrong with it."""
        if self.offered is None:
            yield from super().iter_choices()
            return
        if self.allow_blank:
            yield _iter_choices_wtforms_compat("__None", self.blank_text, self.data is None)
        for pk, obj in self._get_object_list():
            if obj == self.data or self.offered(obj):
                yield _iter_choices_wtforms_compat(pk, self.get_label(obj), obj == self.data)

    def pre_validate(self, form):
        if self.data is None and self._formdata not in (None, "", "__None"):
            raise ValidationError(_("Not a valid choice"))
        super().pre_validate(form)


class TenantAjaxSelectField(AjaxSelectField):
    """An AJAX look-up that refuses an id its tenant-scoped loader does not find (another
    tenant's row, a deleted row, garbage) with the plain selects' message, instead of
    Flask-Admin's silent empty value."""

    def pre_validate(self, form):
        unknown = self._formdata not in (None, "", "__None")
        if self.data is None and (unknown or not self.allow_blank):
            raise ValidationError(_("Not a valid choice"))


class DecimalCommaField(Field):
    """The one decimal input of every form: a text input (``inputmode="decimal"``, never
    ``type="number"``, whose browser drops a typed comma) read by ``spreadsheets.cells``
    (comma or point, ``1 234,50``) within the column's limits, shown in the UI language
    (``1,25`` in French)."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, limits: cells.Limits = cells.NO_LIMITS, **kwargs):
        kwargs.pop("places", None)
        render_kw = {"inputmode": "decimal", "autocomplete": "off", **(kwargs.pop("render_kw", None) or {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)
        self.limits = limits

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        self.data = None
        if not cells.is_blank(valuelist[0]):
            self.data = cells.parse_decimal(valuelist[0], self.limits)  # CellError: shown next to the field

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return form_decimal(self.data, self.limits.scale)


class FrenchDateField(Field):
    """The one date input of every form: typed and shown ``JJ/MM/AAAA`` (ISO accepted),
    read by ``spreadsheets.cells`` (nothing may follow the date), with the date picker."""

    widget = DatePickerWidget()
    picker_format, shown_format = "DD/MM/YYYY", "%d/%m/%Y"

    def __init__(self, label=None, validators=None, format=None, **kwargs):
        render_kw = {"data-date-format": self.picker_format, "autocomplete": "off",
                     **(kwargs.pop("render_kw", None) or {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)

    def parse(self, text):
        return cells.parse_date(text)

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        self.data = None if cells.is_blank(valuelist[0]) else self.parse(valuelist[0])

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.strftime(self.shown_format) if self.data else ""


class FrenchDateTimeField(FrenchDateField):
    """A moment typed and shown ``JJ/MM/AAAA HH:MM``."""

    widget = DateTimePickerWidget()
    picker_format, shown_format = "DD/MM/YYYY HH:mm", "%d/%m/%Y %H:%M"

    def parse(self, text):
        return cells.parse_datetime(text)


class TenantModelConverter(AdminModelConverter):
    """Relation selects offer only rows of the current tenant, and accept nothing else;
    numbers, dates and texts are read within the limits of their column."""

    @converts("Numeric")
    def handle_decimal_types(self, column, field_args, **extra):
        return DecimalCommaField(limits=cells.limits_of(column), **field_args)

    @converts("Integer")
    def handle_integer_types(self, column, field_args, **extra):
        limits = cells.limits_of(column)
        field_args["validators"].append(NumberRange(min=limits.min_integer, max=limits.max_integer))
        return super().handle_integer_types(column, field_args, **extra)

    @converts("Date")
    def convert_date(self, column, field_args, **extra):
        return FrenchDateField(**field_args)

    @converts("DateTime")
    def convert_datetime(self, column, field_args, **extra):
        return FrenchDateTimeField(**field_args)

    def _model_select_field(self, prop, multiple, remote_model, **kwargs):
        has_loader = getattr(self.view, "_form_ajax_refs", {}).get(prop.key)
        kwargs.setdefault("blank_text", "—")
        if has_loader and not multiple:
            return TenantAjaxSelectField(has_loader, **kwargs)
        if issubclass(remote_model, TenantScoped) and not has_loader:
            order = getattr(remote_model, "code", remote_model.id)
            kwargs["query_factory"] = lambda: tenant_query(remote_model).order_by(order)
            if not multiple:
                offered = (getattr(self.view, "form_relation_filters", None) or {}).get(prop.key)
                return TenantQuerySelectField(offered=offered, **kwargs)
        return super()._model_select_field(prop, multiple, remote_model, **kwargs)


DATE_RANGE_SEPARATOR = re.compile(r"\s+(?:au|to|-)\s+", re.IGNORECASE)


class _TypedDate:
    """A date filter whose value is typed ``JJ/MM/AAAA`` (ISO accepted), read by cells."""

    parse = staticmethod(cells.parse_date)

    def clean(self, value):
        return self.parse(value)


class _TypedDateRange(_TypedDate):
    """A *between* filter: two dates separated by `` au `` (the French picker's
    separator: "du 01/03/2025 au 31/03/2025"), `` to `` or `` - ``."""

    def clean(self, value):
        return [self.parse(part) for part in DATE_RANGE_SEPARATOR.split(value.strip().removeprefix("du "), 1)]

    def validate(self, value) -> bool:
        try:
            first, last = self.clean(value)
        except ValueError:
            return False
        return first <= last


class _TypedDateTime(_TypedDate):
    parse = staticmethod(cells.parse_datetime)


class _TypedDateTimeRange(_TypedDateRange):
    parse = staticmethod(cells.parse_datetime)


def _typed(filters, single, between):
    """Flask-Admin's date filters, reading their values with ``spreadsheets.cells``."""
    typed = []
    for flt in filters:
        if issubclass(flt, (sqla_filters.DateBetweenFilter, sqla_filters.DateTimeBetweenFilter)):
            typed.append(type(flt.__name__, (between, flt), {}))
        elif issubclass(flt, (BaseDateFilter, BaseDateTimeFilter)):
            typed.append(type(flt.__name__, (single, flt), {}))
        else:
            typed.append(flt)
    return tuple(typed)


class TypedDateFilterConverter(sqla_filters.FilterConverter):
    """List filters on dates typed as in the forms: ``JJ/MM/AAAA``."""

    date_filters = _typed(sqla_filters.FilterConverter.date_filters, _TypedDate, _TypedDateRange)
    datetime_filters = _typed(sqla_filters.FilterConverter.datetime_filters, _TypedDateTime, _TypedDateTimeRange)


class TenantAjaxLoader(QueryAjaxModelLoader):
    """AJAX look-ups restricted to the current tenant, searched by prefix of code or label.

    ``depends_on`` (``{"client": "client_id"}``) narrows the look-up to the rows of what
    is chosen in another field of the form: the page sends that field's value as a
    request parameter of the same name (``static/lookups.js``)."""

    def __init__(self, name, session, model, **options):
        self.depends_on = dict(options.pop("depends_on", None) or {})
        super().__init__(name, session, model, **options)

    def get_query(self):
        query = tenant_query(self.model)
        for parameter, column in self.depends_on.items():
            value = request.args.get(parameter, type=int)
            if value is not None:
                query = query.filter(getattr(self.model, column) == value)
        return query

    def get_one(self, pk):
        row_id = valid_id(self.model, pk)
        if row_id is None:
            return None
        return self.get_query().filter(self.model.id == row_id).one_or_none()

    def get_list(self, term, offset=0, limit=20):
        """One page of matches; ``offset`` and ``limit`` are checked by the view's
        ``ajax_lookup`` (a negative one is a 400)."""
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


def _formatter_of(text):
    """A list and details formatter showing ``text(value)``."""
    return lambda view, context, model, name: text(getattr(model, name))


def _once(text):
    """``text`` computed once per distinct value of an export's column."""
    texts = {}

    def once(value):
        if value not in texts:
            texts[value] = text(value)
        return texts[value]
    return once


def _label_text(value):
    """A closed-list value → its label as text (in an export through ``_once``: a lazy
    label's text costs a gettext)."""
    shown = CHOICE_LABELS.get(value)
    return value if shown is None else str(shown)


class SecuredModelView(ImportMixin, RoleGate, ModelView):
    """A tenant's table: list, create, edit, delete and XLSX export, scoped and checked."""

    form_base_class = SecureForm
    list_template = "passerelle/list.html"
    model_form_converter = TenantModelConverter
    filter_converter = TypedDateFilterConverter()
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
    # Flask-Admin takes the first formatter whose type matches: datetime before date.
    column_type_formatters = {datetime: datetime_formatter, date: date_formatter, **typefmt.BASE_FORMATTERS,
                              Decimal: decimal_formatter}
    column_type_formatters_detail = {datetime: datetime_formatter, date: date_formatter,
                                     **typefmt.DETAIL_FORMATTERS, Decimal: decimal_formatter, bool: yes_no_formatter}
    allow_create = allow_edit = allow_delete = True
    # field -> function(row) -> bool: the rows its select offers, e.g. only credit-note codes
    # (the row rules still explain why another row is refused).
    form_relation_filters: dict = {}
    # Closed lists shown by label without a form choice here ({field: (value, …)}).
    closed_list_values: dict = {}
    # Fields shown through a function of their value in lists, details and exports ({field: text}).
    column_value_texts: dict = {}

    def __init__(self, model, *args, **kwargs):
        labels = {**FIELD_LABELS, **SETTINGS_LABELS, **(self.column_labels or {})}
        self.column_labels = labels
        if self.column_details_list is None and self.column_export_list:
            self.column_details_list = self.column_export_list
        self.column_formatters = {**{name: choice_formatter for name in self.closed_lists()},
                                  **{name: _formatter_of(text) for name, text in self.column_value_texts.items()},
                                  **(self.column_formatters or {})}
        super().__init__(model, db.session, *args, **kwargs)

    def closed_lists(self) -> dict[str, list[tuple[str, object]]]:
        """The closed-list fields of the screen and their (value, label) pairs: shown by label
        in lists, details, filters and exports."""
        lists = {name: choices(values) for name, values in self.closed_list_values.items()}
        lists.update({name: list(pairs) for name, pairs in (self.form_choices or {}).items()})
        return lists

    def scaffold_filters(self, name):
        """A closed-list field is filtered by choosing one of its labels."""
        options = self.closed_lists().get(name) if isinstance(name, str) else None
        if options is None:
            return super().scaffold_filters(name)
        column, label = getattr(self.model, name), self.get_column_name(name)
        return [FilterEqual(column, label, options=options), FilterNotEqual(column, label, options=options)]

    @pass_context
    def get_list_value(self, context, model, name):
        """In lists, a related row shows its code and its shortened name (in full on hover)."""
        value = super().get_list_value(context, model, name)
        return related_markup(value) if isinstance(value, db.Model) else value

    @pass_context
    def get_detail_value(self, context, model, name):
        """In details, a related row shows its code and its name."""
        value = super().get_detail_value(context, model, name)
        return related_text(value) if isinstance(value, db.Model) else value

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

    # Hostile paging and ids: 400 / 404, never a database error
    MAX_PAGE = 100_000
    MAX_LOOKUP_OFFSET = 100_000
    MAX_LOOKUP_LIMIT = 100

    def _get_list_extra_args(self):
        """The list's arguments; a page outside ``0..MAX_PAGE`` is a 404 (a negative or huge
        offset is refused by PostgreSQL); a sort index out of range is Flask-Admin's default."""
        view_args = super()._get_list_extra_args()
        if not 0 <= view_args.page <= self.MAX_PAGE:
            abort(404)
        return view_args

    @expose("/ajax/lookup/")
    def ajax_lookup(self):
        """Flask-Admin's look-up, with its paging checked: 400 outside the bounds."""
        offset = request.args.get("offset", 0, type=int)
        limit = request.args.get("limit", 10, type=int)
        if not (0 <= offset <= self.MAX_LOOKUP_OFFSET and 1 <= limit <= self.MAX_LOOKUP_LIMIT):
            abort(400)
        return super().ajax_lookup()

    def handle_action(self, return_view=None):
        """List actions get row ids that can be ids (else 400), whatever the action."""
        if any(valid_id(self.model, row_id) is None for row_id in request.form.getlist("rowid")):
            abort(400)
        return super().handle_action(return_view)

    def _create_ajax_loader(self, name, options):
        attribute = getattr(self.model, name)
        remote_model = attribute.property.mapper.class_
        loader = TenantAjaxLoader(name, db.session, remote_model, **options)
        if loader.depends_on:  # the page sends the values of these fields with the look-up
            widget_args = dict(self.form_widget_args or {})
            widget_args[name] = {**widget_args.get(name, {}), "data-depends-on": " ".join(loader.depends_on)}
            self.form_widget_args = widget_args
        return loader

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """The list's search: its page of rows and their (capped) count."""
        clause = search_clause(self.model, self.column_searchable_list, search, page=True)
        if clause is None:
            return query, count_query, joins, count_joins
        query = query.filter(clause)
        if count_query is not None:
            count_query = count_query.filter(search_clause(self.model, self.column_searchable_list, search))
        return query, count_query, joins, count_joins

    def _order_by(self, query, joins, sort_joins, sort_field, sort_desc):
        """A sort on a text column (other than a code, served by its index) ignores accents
        and case: ``Élise`` sorts with the E's."""
        column_type = getattr(sort_field, "type", None)
        if not isinstance(column_type, String) or getattr(sort_field, "key", "") in PREFIX_COLUMNS:
            return super()._order_by(query, joins, sort_joins, sort_field, sort_desc)
        query, joins, alias = self._apply_path_joins(query, joins, sort_joins, inner_join=False)
        column = sort_field if alias is None else getattr(alias, sort_field.key)
        terms = sort_key(column)
        return query.order_by(*(term.desc() if sort_desc else term for term in terms)), joins

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
        return send_temporary_download(self.write_export(query), self.export_filename())

    def filtered_query(self, search=None, filters=None, sort_column=None, sort_desc=False):
        """The ORM query of the rows a list shows (all pages): tenant, search, filters, sort."""
        query, joins = self.get_query(), {}
        clause = search_clause(self.model, self.column_searchable_list, search)
        if clause is not None:
            query = query.filter(clause)
        if filters and self._filters:
            query, _count, joins, _cj = self._apply_filters(query, None, joins, {}, filters)
        query, joins = self._apply_sorting(query, joins, sort_column, sort_desc)
        return query.order_by(self.model.id)

    def export_field_names(self) -> list[str]:
        return list(self.column_export_list or [name for name, _label in self._export_columns])

    def export_sheet(self, query) -> tuple[list, object]:
        """The columns and the rows (streamed, as the screen shows them) of ``query``'s export."""
        fields = fields_of(self.model, self.export_field_names())
        rows = stream_rows(select_columns(query, self.model, fields),
                           current_app.config["EXPORT_BATCH_SIZE"])
        return [field.column for field in fields], self.readable_rows(fields, rows)

    def write_export(self, query) -> str:
        """Write the rows of ``query`` to a temporary XLSX file and return its path."""
        columns, rows = self.export_sheet(query)
        return xlsx.write_temporary_xlsx(str(self.name), columns, rows)

    def readable_rows(self, fields, rows):
        """Exported rows as the screen shows them: closed-list values by label (the import
        reads labels back), the ``column_value_texts`` fields by their text, moments in Paris
        time."""
        texts = {**self.column_value_texts, **{name: _label_text for name in self.closed_lists()}}
        changes = {index: _once(texts[field.name]) if field.name in texts
                   else (lambda value: value and to_business_time(value).replace(tzinfo=None))
                   for index, field in enumerate(fields) if field.name in texts or field.kind == xlsx.DATETIME}
        if not changes:
            return rows
        return (tuple(changes[i](value) if i in changes else value for i, value in enumerate(row)) for row in rows)

    def export_filename(self) -> str:
        return file_name(self.name)
