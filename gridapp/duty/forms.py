"""Forms of the duty roster: a checkpoint and its pattern, removing or assigning someone, a period."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from gridapp.core.forms import Form, PeriodForm, coerce_id
from gridapp.duty.models import CHECKPOINT_KINDS, DEFAULT_PATTERN
from gridapp.duty.services import KIND_LABELS


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class CheckpointForm(Form):
    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(), Length(max=100)])
    kind = SelectField(_l("Kind"), choices=[])
    compound_id = SelectField(_l("Compound"), coerce=coerce_id, choices=[], validate_choice=True)
    work_unit_id = SelectField(_l("Responsible work unit"), coerce=coerce_id, choices=[])
    location = StringField(_l("Location"), filters=[_strip], validators=[Optional(), Length(max=200)])
    pattern = StringField(_l("Shifts (in local time)"), default=DEFAULT_PATTERN, filters=[_strip],
                          validators=[DataRequired(), Length(max=200)])
    min_people = IntegerField(_l("Minimum people per shift"), default=1,
                              validators=[DataRequired(), NumberRange(min=1, max=50)])
    max_people = IntegerField(_l("Maximum people per shift"), default=2,
                              validators=[DataRequired(), NumberRange(min=1, max=50)])
    active = BooleanField(_l("Active"), default=True)

    def __init__(self, *args, compounds=(), work_units=(), **kwargs):
        super().__init__(*args, **kwargs)

        self.kind.choices = [(k, KIND_LABELS[k]) for k in CHECKPOINT_KINDS]
        self.compound_id.choices = [(0, _l("The community (no compound)"))] + [(c.id, c.name) for c in compounds]
        self.work_unit_id.choices = [(0, _l("None"))] + [(u.id, u.name) for u in work_units]


class RemoveForm(Form):
    reason = TextAreaField(_l("Reason"), filters=[_strip], validators=[DataRequired(), Length(max=500)])


class CancelShiftForm(Form):
    cancel_reason = TextAreaField(_l("Reason for cancelling"), filters=[_strip],
                                  validators=[DataRequired(), Length(max=500)])


class AssignForm(Form):
    user_id = SelectField(_l("Volunteer"), coerce=coerce_id, choices=[])


class HoursPeriodForm(PeriodForm):
    """The period of the hours report and its export: the last 31 days unless asked, at most a year
    (the end up to 366 days after the start, so a leap year fits)."""

    default_days = 31
    max_days = 367
    too_long = _l("Choose a period of at most a year, ending after it starts.")
