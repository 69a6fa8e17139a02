"""Forms of screening: opening a campaign, recording a visit on a phone, closing a campaign."""
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from gridapp.core.forms import Form
from gridapp.core.params import parse_int
from gridapp.screening.services import ITEM_LABELS, MAX_PEOPLE, RESULT_LABELS
from gridapp.timeutil import as_utc


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class CampaignForm(Form):
    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(), Length(max=100)])
    starts_on = DateField(_l("First day"), validators=[DataRequired()])
    ends_on = DateField(_l("Last day"), validators=[DataRequired()])
    town_wide = BooleanField(_l("The whole town"))
    places = SelectMultipleField(_l("Or these places"), choices=[], validate_choice=False)
    record_items = BooleanField(_l("Record the five items (五个一) handed over, each ticked"), default=True)
    record_present = BooleanField(_l("Record how many people were at home"), default=True)

    def values(self) -> dict:
        return {"name": self.name.data, "starts_on": self.starts_on.data, "ends_on": self.ends_on.data,
                "town_wide": self.town_wide.data, "places": self.places.data or [],
                "record_items": self.record_items.data, "record_present": self.record_present.data}


_PEOPLE = NumberRange(min=0, max=MAX_PEOPLE, message=_l("Between 0 and %(max)d people."))


class VisitForm(Form):
    result = RadioField(_l("What the visit found"), choices=[], validate_choice=False,
                        validators=[DataRequired(message=_l("Choose what the visit found."))])
    visited_at = DateTimeLocalField(_l("When"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    present = IntegerField(_l("People at home"), validators=[Optional(), _PEOPLE],
                           render_kw={"inputmode": "numeric", "min": 0, "max": MAX_PEOPLE})
    returnees = IntegerField(_l("Of them came or returned from outside"), validators=[Optional(), _PEOPLE],
                             render_kw={"inputmode": "numeric", "min": 1, "max": MAX_PEOPLE})
    revisit_on = DateField(_l("Nobody home: come back on"), validators=[Optional()])
    item_thermometer = BooleanField(ITEM_LABELS["thermometer"])
    item_disinfectant = BooleanField(ITEM_LABELS["disinfectant"])
    item_leaflet = BooleanField(ITEM_LABELS["leaflet"])
    item_mask = BooleanField(ITEM_LABELS["mask"])
    item_form = BooleanField(ITEM_LABELS["form"])
    notes = TextAreaField(_l("Notes"), filters=[_strip], validators=[Optional(), Length(max=500)],
                          render_kw={"rows": 2})
    # The number of visits recorded when this form was drawn: someone else's since then wins.
    attempts = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.result.choices = list(RESULT_LABELS.items())

    def seen_attempts(self) -> int | None:
        return parse_int(self.attempts.data, 0, 10_000)

    def values(self) -> dict:
        return {"result": self.result.data, "visited_at": as_utc(self.visited_at.data),
                "present": self.present.data, "returnees": self.returnees.data, "revisit_on": self.revisit_on.data,
                "notes": self.notes.data or "",
                **{name: self[name].data for name in self._fields if name.startswith("item_")}}


class CloseForm(Form):
    reason = StringField(_l("Why it closes with households not visited (if any)"), filters=[_strip],
                         validators=[Optional(), Length(max=200)])
