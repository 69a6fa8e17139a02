"""Forms of the notification pages."""
from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from gridapp.core.forms import Form


class QuietHoursForm(Form):
    quiet_start = TimeField(_l("Quiet from"), validators=[DataRequired()])
    quiet_end = TimeField(_l("Quiet until"), validators=[DataRequired()])


class WebhookForm(Form):
    place = SelectField(_l("Place"), validators=[DataRequired()])
    provider = SelectField(_l("Group app"), choices=[SelectChoice("wecom", _l("WeCom (企业微信) robot")),
                                                     SelectChoice("dingtalk", _l("DingTalk robot"))])
    name = StringField(_l("Group name"), validators=[DataRequired(), Length(max=100)])
    url = StringField(_l("Robot webhook address"), validators=[DataRequired(), Length(max=500)])
    secret = PasswordField(_l("Signing secret (DingTalk, optional)"), validators=[Optional(), Length(max=200)])
