"""Forms of the disinfection rounds: the tick, points in bulk, a point's windows, risk tiers, exports."""
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from gridapp.core.forms import Form, PeriodForm
from gridapp.disinfection.models import POINT_KINDS, RISK_TIERS, TASKS
from gridapp.disinfection.services import KIND_LABELS, TASK_LABELS, TIER_LABELS


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class TickForm(Form):
    # The time is never a field: the server records its own clock (no back-dating).
    disinfectant = StringField(_l("Disinfectant used"), filters=[_strip], validators=[Optional(), Length(max=100)])
    note = TextAreaField(_l("Note"), filters=[_strip], validators=[Optional(), Length(max=1000)])
    # Optional; checked by content in gridapp.uploads (JPEG, PNG or WebP, 5 MB, metadata stripped).
    photo = FileField(_l("Photo (optional)"), render_kw={"accept": "image/jpeg,image/png,image/webp"})
    token = HiddenField()


class PointsForm(Form):
    """Bulk creation: a kind, how many, a name prefix ("elevator × 6")."""

    place_name = StringField(_l("Public place"), filters=[_strip], validators=[Optional(), Length(max=100)])
    kind = SelectField(_l("Kind"), choices=[])
    task = SelectField(_l("Task"), choices=[])
    name = StringField(_l("Name (numbered when more than one)"), filters=[_strip],
                       validators=[Optional(), Length(max=90)])
    count = IntegerField(_l("How many"), default=1, validators=[DataRequired(), NumberRange(min=1, max=50)])
    windows = StringField(_l("Time windows (empty: the defaults)"), filters=[_strip],
                          validators=[Optional(), Length(max=200)])

    def __init__(self, *args, public_place: bool = False, **kwargs):
        super().__init__(*args, **kwargs)

        self.kind.choices = [(k, KIND_LABELS[k]) for k in POINT_KINDS]
        self.task.choices = [(t, TASK_LABELS[t]) for t in TASKS]
        if public_place:
            self.place_name.validators = [DataRequired(), Length(max=100)]
        else:
            del self.place_name


class PointForm(Form):
    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(), Length(max=100)])
    windows = StringField(_l("Time windows (empty: the defaults)"), filters=[_strip],
                          validators=[Optional(), Length(max=200)])
    active = BooleanField(_l("Active"))


class RiskForm(Form):
    tier = SelectField(_l("Risk tier"), choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

        self.tier.choices = [(t, TIER_LABELS[t]) for t in RISK_TIERS]


class RoundsPeriodForm(PeriodForm):
    """The period of the rounds export: the board offers the last week; at most 31 days, and always
    asked for."""

    default_days = 7
    max_days = 31
    required = True
