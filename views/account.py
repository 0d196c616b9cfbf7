"""*Changer mon mot de passe*: every logged-in user's own password change."""
from flask import flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField

from core import transaction
from rules.tenancy import MIN_PASSWORD_LENGTH, change_password, password_change_errors


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"))
    new_password = PasswordField(_l("New password"),
                                 description=_l("At least %(count)s characters.", count=MIN_PASSWORD_LENGTH))
    confirmation = PasswordField(_l("New password again"))


class PasswordView(BaseView):
    """Open to every logged-in user, whatever his role or tenant (not in the menu: a link of
    the user's drop-down). The change ends the user's other sessions; this one goes on
    under the new session version."""

    def is_visible(self) -> bool:
        return False

    def is_accessible(self) -> bool:
        return current_user.is_authenticated

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login", next=request.full_path))

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = PasswordChangeForm()
        if form.validate_on_submit():
            errors = password_change_errors(current_user, form.current_password.data, form.new_password.data,
                                            form.confirmation.data)
            for name, message in errors.items():
                form[name].errors = [message]
            if not errors:
                user = current_user._get_current_object()
                change_password(user, form.current_password.data, form.new_password.data, form.confirmation.data)
                transaction.commit()
                login_user(user)  # this session under the new session version
                flash(_("Your password is changed. Your other sessions are closed."), "success")
                return redirect(url_for("admin.index"))
        return self.render("auth/password.html", form=form)
