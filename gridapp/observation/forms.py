"""The forms of home observation: starting, extending, ending, a check (staff's and the person's own),
closing a follow-up."""
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from gridapp.core.forms import Form, coerce_optional_id
from gridapp.observation.services import METHOD_LABELS, OUTCOME_LABELS


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class StartForm(Form):
    starts_on = DateField(_l("First day"), validators=[Optional()])
    days = IntegerField(_l("Days"), validators=[Optional(), NumberRange(min=1, max=60)],
                        render_kw={"inputmode": "numeric"})
    building_head_id = SelectField(_l("Responsible building head"), coerce=coerce_optional_id, choices=[])
    grid_member_id = SelectField(_l("Responsible grid member"), coerce=coerce_optional_id, choices=[])
    reason = TextAreaField(_l("Why"), filters=[_strip], validators=[Optional(), Length(max=1000)],
                           render_kw={"rows": 2})

    def set_choices(self, heads, members):
        self.building_head_id.choices = [("", _l("— none —"))] + [(u.id, u.display_name) for u in heads]
        self.grid_member_id.choices = [("", _l("— none —"))] + [(u.id, u.display_name) for u in members]

    def values(self) -> dict:
        return {name: self[name].data for name in ("starts_on", "days", "building_head_id", "grid_member_id",
                                                   "reason")}


class ExtendForm(Form):
    ends_on = DateField(_l("New last day"), validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), filters=[_strip], validators=[DataRequired(), Length(max=1000)],
                           render_kw={"rows": 2})


class CloseForm(Form):
    action = RadioField(_l("Decision"), choices=[("end_early", _l("End early")),
                                                 ("lose", _l("Lost to follow-up"))], default="end_early")
    reason = TextAreaField(_l("Reason"), filters=[_strip], validators=[DataRequired(), Length(max=1000)],
                           render_kw={"rows": 2})


class CheckForm(Form):
    """A check in a few taps: the temperature, the symptoms, and (staff) how the person was reached."""

    temperature = DecimalField(_l("Temperature (℃)"), places=1, validators=[InputRequired(),
                               NumberRange(min=35, max=42, message=_l("Give a temperature between 35.0 and 42.0 ℃."))],
                               render_kw={"inputmode": "decimal", "step": "0.1", "min": "35", "max": "42"})
    cough = BooleanField(_l("Cough"))
    fever = BooleanField(_l("Feeling feverish"))
    fatigue = BooleanField(_l("Fatigue"))
    other = BooleanField(_l("Other symptom"))
    other_text = StringField(_l("Which"), filters=[_strip], validators=[Optional(), Length(max=200)])
    method = RadioField(_l("How"), choices=[(k, v) for k, v in METHOD_LABELS.items() if k != "self"],
                        default="in_person")

    def values(self) -> dict:
        return {name: self[name].data for name in ("temperature", "cough", "fever", "fatigue", "other", "other_text")}


class SelfCheckForm(CheckForm):
    method = None


class CallForm(Form):
    note = TextAreaField(_l("What they said"), filters=[_strip], validators=[Optional(), Length(max=1000)],
                         render_kw={"rows": 2})


class FollowUpForm(Form):
    outcome = RadioField(_l("What was done"), choices=list(OUTCOME_LABELS.items()), validators=[DataRequired()])
    note = TextAreaField(_l("Note"), filters=[_strip], validators=[Optional(), Length(max=1000)],
                         render_kw={"rows": 2})
