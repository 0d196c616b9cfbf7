"""Administration: tenants, users and the audit log."""
from flask import g, request
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_admin.model.form import InlineFormAdmin
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func
from wtforms import PasswordField, SelectField
from wtforms.validators import Length, Optional

from core.extensions import db
from core.glossary import FIELD_LABELS, TABLE_LABELS, choices, label_of
from core.tenancy import ADMINISTRATORS, EVERYONE
from models import ROLES, AuditLogEntry, Membership, Tenant, User
from rules.tenancy import create_tenant
from views.base import SecuredModelView
from views.formatters import audit_value_formatter, field_formatter, stored_value_text, table_formatter

ADMINISTRATION = _l("Administration")


def administered_tenant_ids() -> list[int]:
    return [m.tenant_id for m in g.get("memberships", []) if m.role == "admin"]


class UnscopedAdminView(SecuredModelView):
    """Screens over tables that are not owned by one tenant: admin only, and limited to
    the tenants the admin administers."""

    read_roles = write_roles = ADMINISTRATORS
    allow_delete = False
    column_exclude_list = column_details_exclude_list = ()

    def get_count_query(self):
        return self.get_query().with_entities(func.count(self.model.id))

    def on_model_change(self, form, model, is_created):
        pass

    def on_model_delete(self, model):
        pass


class TenantView(UnscopedAdminView):
    column_list = column_export_list = ("code", "name", "created_at")
    column_searchable_list = ("code", "name")
    column_filters = ("code", "name")
    form_columns = ("code", "name")

    def get_query(self):
        return db.session.query(Tenant).filter(Tenant.id.in_(administered_tenant_ids()))

    def create_model(self, form):
        tenant = create_tenant(form.code.data, form.name.data, admin_user=current_user)
        db.session.commit()
        return tenant

    def row_errors(self, form) -> dict[str, str]:
        """Tenant codes are unique across the application (tenants have no ``tenant_id``)."""
        code = (form.code.data or "").strip().upper()
        if not code:
            return {"code": _("The code is mandatory.")}
        twins = db.session.query(Tenant.id).filter(Tenant.code == code)
        if request.endpoint.endswith("edit_view"):
            twins = twins.filter(Tenant.id != request.args.get("id", type=int))
        if twins.first():
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
    column_default_sort = "email"
    column_list = column_export_list = ("email", "full_name", "locale", "active", "created_at")
    column_searchable_list = ("email", "full_name")
    column_filters = ("email", "active")
    form_columns = ("email", "full_name", "locale", "active", "password", "memberships")
    form_overrides = {"locale": SelectField}
    form_args = {"locale": {"choices": [("fr", "Français"), ("en", "English")]}}
    form_extra_fields = {"password": PasswordField(
        _l("Password"), validators=[Optional(), Length(min=10)],
        description=_l("At least 10 characters. Leave empty to keep the current password."))}
    inline_models = (MembershipInline(Membership),)

    def get_query(self):
        members = db.session.query(Membership.user_id).filter(
            Membership.tenant_id.in_(administered_tenant_ids()))
        return db.session.query(User).filter(User.id.in_(members))

    def on_model_change(self, form, model, is_created):
        model.email = model.email.strip().lower()
        if form.password.data:
            model.set_password(form.password.data)

    def row_errors(self, form) -> dict[str, str]:
        if request.endpoint.endswith("create_view") and not form.password.data:
            return {"password": _("A new user needs a password.")}
        return {}


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
