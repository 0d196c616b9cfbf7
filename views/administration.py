"""Administration: tenants, users and the audit log."""
from flask import abort, flash, g, request
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_admin.helpers import get_form_data
from flask_admin.model.form import InlineFormAdmin
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import Length, Optional

from core import transaction
from core.extensions import db
from core.glossary import FIELD_LABELS, TABLE_LABELS, choices, label_of
from core.tenancy import ADMINISTRATORS, EVERYONE
from models import ROLES, AuditLogEntry, Membership, Tenant, User
from rules.templates import copy_tenant
from rules.tenancy import MIN_PASSWORD_LENGTH, TenancyError, create_tenant, save_user, user_errors
from views.base import SecuredModelView
from views.formatters import audit_value_formatter, field_formatter, stored_value_text, table_formatter

ADMINISTRATION = _l("Administration")
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}


def administered_tenant_ids() -> list[int]:
    return [m.tenant_id for m in g.get("memberships", []) if m.role == "admin"]


class UnscopedAdminView(SecuredModelView):
    """Screens over tables that are not owned by one tenant: admin only, and limited to
    the tenants the admin administers."""

    read_roles = write_roles = ADMINISTRATORS
    allow_delete = False
    can_import = False  # users and tenants are made by their screens and commands only
    column_exclude_list = column_details_exclude_list = ()

    def get_count_query(self):
        return self.get_query().with_entities(func.count(self.model.id))

    def on_model_change(self, form, model, is_created):
        pass

    def on_model_delete(self, model):
        pass


class FixedTextField(StringField):
    """A value shown read-only in a form and never taken from what is posted."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("render_kw", {"readonly": True})
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):
        pass

    def populate_obj(self, obj, name):
        pass


class TenantView(UnscopedAdminView):
    column_list = column_export_list = ("code", "name", "created_at")
    column_searchable_list = ("code", "name")
    column_filters = ("code", "name")
    form_columns = ("code", "name")

    def get_query(self):
        return db.session.query(Tenant).filter(Tenant.id.in_(administered_tenant_ids()))

    def get_edit_form(self):
        """A tenant's name can change, its code cannot: commands and files name it."""
        base = super().get_edit_form()

        class TenantEditForm(base):
            code = FixedTextField(_l("Code"), description=_l("The code cannot change: commands use it."))
        return TenantEditForm

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        form._fields.move_to_end("name")  # the fixed code first, as on creation
        return form

    def get_create_form(self):
        """A new tenant may copy the parameters of a tenant the admin administers."""
        base = super().get_create_form()

        class TenantCreateForm(base):
            copy_from = SelectField(_l("Copy from"), coerce=int, default=0, description=_l(
                "Parameter tables, dossier settings and connectors (disabled, without secrets, folders or "
                "URLs) of this tenant are copied into the new one."))
        return TenantCreateForm

    def create_form(self, obj=None):
        form = super().create_form(obj)
        templates = db.session.query(Tenant.id, Tenant.code, Tenant.name).filter(
            Tenant.id.in_(administered_tenant_ids())).order_by(Tenant.code)
        form.copy_from.choices = [(0, _("— Empty tenant —"))] + [(t.id, f"{t.code} — {t.name}") for t in templates]
        return form

    def create_model(self, form):
        template = None
        if form.copy_from.data:
            if form.copy_from.data not in administered_tenant_ids():
                abort(404)
            template = db.session.get(Tenant, form.copy_from.data)
        try:
            if template is not None:
                tenant = copy_tenant(template, form.code.data, form.name.data, admin_user=current_user)
            else:
                tenant = create_tenant(form.code.data, form.name.data, admin_user=current_user)
            transaction.commit()
        except TenancyError as error:
            transaction.rollback()
            flash(str(error), "error")
            return False
        return tenant

    def row_errors(self, form) -> dict[str, str]:
        """Tenant codes are unique across the application (tenants have no ``tenant_id``);
        only a new tenant has a code to check."""
        if request.endpoint.endswith("edit_view"):
            return {} if (form.name.data or "").strip() else {"name": _("The name is mandatory.")}
        code = (form.code.data or "").strip().upper()
        if not code:
            return {"code": _("The code is mandatory.")}
        if db.session.query(Tenant.id).filter(Tenant.code == code).first():
            return {"code": _("The tenant %(code)s already exists.", code=code)}
        return {}


class MembershipInline(InlineFormAdmin):
    form_columns = ("id", "tenant", "role")
    form_overrides = {"role": SelectField}
    form_args = {
        "role": {"choices": choices(ROLES), "label": _l("Role")},
        "tenant": {"label": _l("Tenant"),
                   "query_factory": lambda: db.session.query(Tenant).filter(
                       Tenant.id.in_(administered_tenant_ids())).order_by(Tenant.code)},
    }


class UserView(UnscopedAdminView):
    """Users of the tenants the admin administers. Saving goes through ``rules.tenancy``:
    memberships are matched by tenant among the administered ones (Flask-Admin's inline
    list would replace the whole collection, or follow membership ids from the form), and
    the memberships of other tenants are neither shown nor touched."""

    column_default_sort = "email"
    column_list = column_export_list = ("email", "full_name", "locale", "active", "created_at")
    column_searchable_list = ("email", "full_name")
    column_filters = ("email", "active")
    column_formatters = {"locale": lambda view, context, model, name: LANGUAGE_NAMES.get(model.locale, model.locale)}
    form_columns = ("email", "full_name", "locale", "active", "password", "memberships")
    form_overrides = {"locale": SelectField}
    form_args = {"locale": {"choices": list(LANGUAGE_NAMES.items())},
                 "active": {"description": _l("A deactivated user can no longer log in.")},
                 "memberships": {"label": _l("Dossier and role")}}
    form_extra_fields = {"password": PasswordField(
        _l("Password"), validators=[Optional(), Length(min=MIN_PASSWORD_LENGTH)],
        description=_l("At least 10 characters. Leave empty to keep the current password; "
                       "a new password ends the user's sessions."))}
    inline_models = (MembershipInline(Membership),)

    def get_query(self):
        members = db.session.query(Membership.user_id).filter(
            Membership.tenant_id.in_(administered_tenant_ids()))
        return db.session.query(User).filter(User.id.in_(members))

    def create_form(self, obj=None):
        form = super().create_form(obj)
        form.password.description = _("At least %(count)s characters.", count=MIN_PASSWORD_LENGTH)
        return form

    def edit_form(self, obj=None):
        """The form lists the user's roles in the administered tenants only."""
        form = super().edit_form(obj)
        administered = set(administered_tenant_ids())
        visible = [m for m in obj.memberships if m.tenant_id in administered]
        form.memberships.process(get_form_data(), data=visible)
        return form

    @staticmethod
    def wanted_memberships(form) -> list:
        field = form.memberships
        return [(entry.form.tenant.data, entry.form.role.data) for entry in field.entries
                if not field.should_delete(entry)]

    def _values(self, form) -> dict:
        return {"email": form.email.data, "active": form.active.data, "password": form.password.data or None,
                "memberships": self.wanted_memberships(form), "administered": set(administered_tenant_ids()),
                "acting_user": current_user}

    def row_errors(self, form) -> dict[str, str]:
        user = self.get_one(request.args.get("id")) if request.endpoint.endswith("edit_view") else None
        return user_errors(user, **self._values(form))

    def create_model(self, form):
        return self._save(None, form) or False

    def update_model(self, form, model):
        return self._save(model, form) is not None

    def _save(self, user, form):
        try:
            user = save_user(user, full_name=form.full_name.data, locale=form.locale.data, **self._values(form))
            transaction.commit()
        except TenancyError as error:
            transaction.rollback()
            flash(str(error), "error")
            return None
        return user


class AuditLogView(SecuredModelView):
    """Who changed what: the moment (Paris time), the user, the screen, the row by its code
    or number, the field by its label, and the values as the screens show them."""

    read_roles = EVERYONE
    write_roles = frozenset()
    can_view_details = True
    column_default_sort = ("changed_at", True)
    column_list = column_export_list = ("changed_at", "user_email", "table_name", "row_code",
                                        "action", "field", "old_value", "new_value")
    column_labels = {"table_name": _l("Screen"), "row_code": FIELD_LABELS["row_id"]}
    column_searchable_list = ("row_code", "table_name", "field", "user_email")
    column_filters = ("changed_at", "user_email", "table_name", "action", "field", "row_code")
    closed_list_values = {"action": ("create", "update", "delete")}
    column_formatters = {"table_name": table_formatter, "field": field_formatter,
                         "old_value": audit_value_formatter, "new_value": audit_value_formatter}
    column_details_exclude_list = ("tenant_id", "user_id", "row_id")

    def scaffold_filters(self, name):
        if name == "table_name":
            column, label = AuditLogEntry.table_name, self.get_column_name(name)
            options = sorted(((key, label) for key, label in TABLE_LABELS.items()), key=lambda pair: str(pair[1]))
            return [FilterEqual(column, label, options=options)]
        return super().scaffold_filters(name)

    def readable_rows(self, fields, rows):
        """The export reads like the screen: screen, field and values in words."""
        names = [field.name for field in fields]
        table, field = names.index("table_name"), names.index("field")
        rows = super().readable_rows(fields, rows)
        for row in rows:
            values = list(row)
            for index, name in enumerate(names):
                if name in ("old_value", "new_value"):
                    values[index] = stored_value_text(row[table], row[field], row[index])
            values[table] = str(TABLE_LABELS.get(row[table], row[table]))
            values[field] = str(label_of(row[field]))
            yield tuple(values)
