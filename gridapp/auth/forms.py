"""Log-in and password forms."""
from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from gridapp.core.forms import Form


class LoginForm(Form):
    username = StringField(_l("Username or phone"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class ChangePasswordForm(Form):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))],
    )


class ReauthForm(Form):
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)],
                             render_kw={"autocomplete": "current-password"})


class AcceptInvitationForm(Form):
    """The invitee's first password, typed twice."""

    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)],
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(
        _l("Repeat the new password"), render_kw={"autocomplete": "new-password"},
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))],
    )
