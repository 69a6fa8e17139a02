"""Forms of the administration pages: accounts, passwords, roles, the audit trail's filters."""
import re
from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from gridapp.audit.labels import action_label, object_label
from gridapp.auth.models import ROLES
from gridapp.core.forms import Form
from gridapp.core.templating import ROLE_LABELS

PHONE_MESSAGE = _l("Enter a phone number of 7 to 20 digits, optionally starting with +.")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _phone(value):
    """People write phone numbers with spaces and dashes; keep the digits (and a leading +)."""
    return re.sub(r"[\s\-]", "", value) if isinstance(value, str) else value


def _role_choices(blank: str):
    return [("", blank)] + [(r, ROLE_LABELS[r]) for r in ROLES]


class AccountForm(Form):
    """The details an administrator edits; NewAccountForm adds the username."""

    display_name = StringField(_l("Display name"), filters=[_strip], validators=[DataRequired(), Length(max=100)])
    phone = StringField(_l("Phone"), filters=[_strip, _phone], render_kw={"type": "tel", "inputmode": "tel"},
                        validators=[Optional(), Regexp(r"^\+?[0-9]{7,20}$", message=PHONE_MESSAGE)])
    email = StringField(_l("E-mail"), filters=[_strip], render_kw={"type": "email"},
                        validators=[Optional(), Length(max=254),
                                    Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter a valid e-mail address."))])
    is_party_member = BooleanField(_l("Party member"))

    def values(self) -> dict:
        return {f.name: f.data for f in self if f.name != "csrf_token"}


class NewAccountForm(AccountForm):
    """No password: the account gets an invitation, with which its owner chooses their own."""

    username = StringField(_l("Username"), filters=[_strip], render_kw={"autocapitalize": "none"},
                           validators=[DataRequired(), Length(max=64),
                                       Regexp(r"^\S+$", message=_l("A username has no spaces."))])


class ResetPasswordForm(Form):
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)],
                                 render_kw={"autocomplete": "new-password"})


class AssignRoleForm(Form):
    """The place's value is "scope_type:id"; the service checks it fits the role."""

    role = SelectField(_l("Role"), choices=[], validate_choice=False)
    scope = SelectField(_l("Place"), choices=[], validate_choice=False,
                        description=_l("Administrators hold their role on the whole system: no place needed."))

    def __init__(self, *args, scope_groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = _role_choices(_l("— choose a role —"))
        choices = {None: [("", _l("— choose a place —"))]}  # None: outside any <optgroup>
        for label, options in scope_groups:
            choices[label] = options
        self.scope.choices = choices

    def validate_role(self, field):
        if field.data not in ROLES:
            raise ValidationError(_l("Choose a role from the list."))


class AuditFilterForm(Form):
    """The GET filters of the audit trail: nothing changes, so no CSRF token."""

    class Meta:
        csrf = False

    actor = StringField(_l("By (username)"), filters=[_strip], validators=[Optional(), Length(max=100)])
    action = SelectField(_l("Action"), choices=[], validate_choice=False)
    object_type = SelectField(_l("Object type"), choices=[], validate_choice=False)
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])

    def set_choices(self, actions, object_types):
        self.action.choices = [("", _l("All actions"))] + [(a, action_label(a)) for a in actions]
        self.object_type.choices = [("", _l("All objects"))] + [(t, object_label(t)) for t in object_types]

    def filters(self) -> dict:
        """The valid filters only: a bad value is shown with its error and otherwise ignored."""
        out = {
            "actor": (self.actor.data or "")[:100] if not self.actor.errors else "",
            "action": (self.action.data or "")[:64] if not self.action.errors else "",
            "object_type": (self.object_type.data or "")[:64] if not self.object_type.errors else "",
        }
        for name in ("date_from", "date_to"):
            field = self[name]
            out[name] = field.data if isinstance(field.data, date) and not field.errors else None
        return out
