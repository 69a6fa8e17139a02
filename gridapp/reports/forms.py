from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from gridapp.core.forms import Form


class RegenerateForm(Form):
    reason = StringField(_l("Why write it again"), validators=[DataRequired(), Length(max=500)])


class TemplateForm(Form):
    kind = SelectField(_l("Report"), choices=[SelectChoice("town", _l("The town's report")),
                                              SelectChoice("community", _l("A community's report"))])
    body = TextAreaField(_l("Wording"), validators=[DataRequired(), Length(max=5000)], render_kw={"rows": 14})
