"""A person of a household, as the town's 登记表 has it; the GET search over people."""
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from gridapp.core.forms import Form
from gridapp.people.services import RELATION_LABELS, SEX_LABELS, TRAVEL_LABELS


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _phone(value):
    return "".join(value.split()).replace("-", "") if isinstance(value, str) else value


class PersonForm(Form):
    name = StringField(lazy_pgettext("person", "Name"), filters=[_strip], validators=[DataRequired(), Length(max=100)])
    relation = SelectField(_l("Relation to the head"), choices=[])
    sex = SelectField(_l("Sex"), choices=[])
    birth_year = IntegerField(_l("Year of birth"), validators=[Optional(), NumberRange(min=1900, max=2100)],
                              render_kw={"inputmode": "numeric"})
    phone = StringField(_l("Phone"), filters=[_strip, _phone], render_kw={"type": "tel", "inputmode": "tel"},
                        validators=[Optional(), Regexp(r"^\+?[0-9]{7,20}$", message=_l(
                            "Enter a phone number of 7 to 20 digits, optionally starting with +."))])
    from_outside = BooleanField(_l("Came or returned from outside"))
    came_from = StringField(_l("From where"), filters=[_strip], validators=[Optional(), Length(max=100)])
    arrived_on = DateField(_l("Arrival date"), validators=[Optional()])
    travel_mode = SelectField(_l("How they came"), choices=[])
    notes = TextAreaField(_l("Notes"), filters=[_strip], validators=[Optional(), Length(max=1000)],
                          render_kw={"rows": 2})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.relation.choices = list(RELATION_LABELS.items())
        self.sex.choices = [("", _l("— not given —")), *SEX_LABELS.items()]
        self.travel_mode.choices = [("", _l("— not given —")), *TRAVEL_LABELS.items()]

    def values(self) -> dict:
        return {name: self[name].data for name in ("name", "relation", "sex", "birth_year", "phone", "from_outside",
                                                   "came_from", "arrived_on", "travel_mode", "notes")}


class PeopleSearchForm(Form):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), filters=[_strip], validators=[Optional(), Length(max=100)])
    returnees = BooleanField(_l("Came or returned from outside"))
