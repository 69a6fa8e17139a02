"""Forms of supervision: inspections, findings, the item's actions, interviews, circulars."""
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    DateTimeLocalField,
    IntegerField,
    MultipleFileField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput

from gridapp.core.forms import CheckboxList, Form, PeriodForm, coerce_id, coerce_optional_id
from gridapp.core.params import parse_id
from gridapp.supervision.models import CATEGORIES, INSPECTION_KINDS, SEVERITIES
from gridapp.supervision.services import (
    CATEGORY_LABELS,
    DUE_HOURS,
    KIND_LABELS,
    MAX_DUE_DAYS,
    SEVERITY_LABELS,
    due_at_bounds,
)
from gridapp.timeutil import as_utc, town_today, town_zone


def _strip(value):
    return value.strip() if isinstance(value, str) else value


PHOTO_ACCEPT = "image/jpeg,image/png,image/webp"


def _photos_field(label):
    return MultipleFileField(label, render_kw={"accept": PHOTO_ACCEPT, "multiple": True})


def _local_input(moment: datetime | None) -> datetime | None:
    return moment.astimezone(town_zone()).replace(tzinfo=None) if moment else None


LOCAL_MINUTE = "%Y-%m-%dT%H:%M"  # the value of an <input type="datetime-local">


def grouped_choices(groups, first=()) -> list[SelectChoice]:
    """A place picker's groups (services.PlaceGroups) as choices, each option in the <optgroup> of
    its group (None: in none); the options of `first` come before every group."""
    out = [SelectChoice(value, label) for value, label in first]
    out += [SelectChoice(value, label, optgroup=group) for group, options in groups for value, label in options]
    return out


class InspectionForm(Form):
    kind = SelectField(_l("Kind"), choices=[])
    planned_at = DateTimeLocalField(_l("Time"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    target = SelectField(_l("Place inspected"), choices=[], validators=[DataRequired()])
    team_ids = SelectMultipleField(_l("Supervision team members taking part"), coerce=coerce_id, choices=[],
                                   validate_choice=False, widget=CheckboxList(), option_widget=CheckboxInput())
    participants = StringField(_l("Other participants"), filters=[_strip], validators=[Optional(), Length(max=300)])
    summary = TextAreaField(_l("Summary"), filters=[_strip], validators=[Optional(), Length(max=4000)])

    def __init__(self, *args, targets=(), team=(), **kwargs):
        super().__init__(*args, **kwargs)

        self.kind.choices = [(k, KIND_LABELS[k]) for k in INSPECTION_KINDS]
        self.target.choices = grouped_choices(targets, first=[("", _l("— choose —"))])
        self.team_ids.choices = [(u.id, u.display_name) for u in team]

    def validate_team_ids(self, field):
        if len(field.data or []) > 50:
            raise ValidationError(_l("Too many people."))

    def values(self) -> dict:
        target_type, _sep, target_id = (self.target.data or ":").partition(":")
        return {"kind": self.kind.data, "planned_at": as_utc(self.planned_at.data), "target_type": target_type,
                "target_id": parse_id(target_id) or 0,
                "participants": self.participants.data or "", "summary": self.summary.data or "",
                "team_ids": list(self.team_ids.data or [])}


class FindingForm(Form):
    category = SelectField(_l("Category"), choices=[])
    severity = SelectField(_l("Severity"), choices=[])
    due_at = DateTimeLocalField(_l("Due time (empty: by severity)"), format=LOCAL_MINUTE, validators=[Optional()])
    description = TextAreaField(_l("What was found"), filters=[_strip], validators=[DataRequired(), Length(max=4000)])
    target = SelectField(_l("Where"), choices=[], validate_choice=False)
    photos = _photos_field(_l("Photos (optional)"))
    owner_id = SelectField(_l("Responsible person"), coerce=coerce_optional_id, choices=[], validators=[Optional()])
    # The place the owner list was made for: a changed place (without JavaScript) means its own owner.
    owner_for = StringField(render_kw={"hidden": True})

    def __init__(self, *args, owners=(), default_owner=None, targets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.target.choices = grouped_choices(targets)
        self.owner_id.choices = ([] if default_owner else [("", _l("— nobody yet: choose later —"))]) + [
            (u.id, f"{u.display_name} ({u.username})") for u in owners]
        if self.owner_id.data is None and default_owner is not None:
            self.owner_id.data = default_owner.id

        self.category.choices = [(c, CATEGORY_LABELS[c]) for c in CATEGORIES]
        self.severity.choices = [(s, _l("%(label)s (due in %(hours)d h)", label=SEVERITY_LABELS[s],
                                        hours=DUE_HOURS[s])) for s in SEVERITIES]
        if not self.severity.data or self.severity.data == "None":
            self.severity.data = "major"
        # The phone's date picker offers only the times services.check_due_at() accepts; the server
        # checks again (a page left open, a browser that ignores min and max).
        after, at_most = due_at_bounds()
        self.due_at.description = _l("Any time from now to %(days)d days ahead.", days=MAX_DUE_DAYS)
        self.due_at.render_kw = {"min": (_local_input(after) + timedelta(minutes=1)).strftime(LOCAL_MINUTE),
                                 "max": _local_input(at_most).strftime(LOCAL_MINUTE),
                                 "aria-describedby": "due_at-hint"}

    def values(self) -> dict:
        return {"category": self.category.data, "severity": self.severity.data, "description": self.description.data,
                "owner_id": self.owner_id.data, "target": self.target.data or "", "due_at": as_utc(self.due_at.data)}


class ActionForm(Form):
    """A button's form: only the CSRF token."""


class EvidenceForm(Form):
    evidence = TextAreaField(_l("What was done"), filters=[_strip], validators=[DataRequired(), Length(max=4000)])
    photos = _photos_field(_l("Photos (optional)"))


class VerifyForm(Form):
    note = StringField(_l("Note"), filters=[_strip], validators=[Optional(), Length(max=500)])


class RejectForm(Form):
    reason = TextAreaField(_l("Why the evidence is not enough"), filters=[_strip],
                           validators=[DataRequired(), Length(max=2000)])
    due_at = DateTimeLocalField(_l("New due time (empty: by severity)"), format="%Y-%m-%dT%H:%M",
                                validators=[Optional()])


class ExtendForm(Form):
    due_at = DateTimeLocalField(_l("New due time"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    reason = StringField(_l("Reason"), filters=[_strip], validators=[DataRequired(), Length(max=500)])
    seen_due_at = StringField(render_kw={"hidden": True})

    @staticmethod
    def local_input(moment):
        return _local_input(moment)


class OwnerForm(Form):
    owner_id = SelectField(_l("Responsible person"), coerce=coerce_optional_id, choices=[], validators=[DataRequired()])


class CommentForm(Form):
    body = TextAreaField(_l("Comment"), filters=[_strip], validators=[DataRequired(), Length(max=2000)])


class ItemsPeriodForm(PeriodForm):
    """The items issued in a period, on the dashboard (the last week unless asked) and in the export
    (every date unless asked). Either day may be left out and none is refused: see shown() and asked()."""

    default_days = 7
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])

    def shown(self) -> tuple[date, date]:
        """The dashboard's period, shown in the form: the start asked for, else (left out, or a day not
        a date) the default's; the end asked for unless before it, else the later of today and the start."""
        start = self.start.data if self.days_valid() and self.start.data else self.default_period()[0]
        end = self.end.data if self.end.data and self.end.data >= start else max(town_today(), start)
        self.start.data, self.end.data = start, end
        return start, end

    def asked(self) -> tuple[date, date] | None:
        """The export's period: the one asked for (an end left out or before the start: the start day
        alone); None, every date, when no start is asked for or a day is not a date."""
        if not (self.days_valid() and self.start.data):
            return None
        start = self.start.data
        return start, self.end.data if self.end.data and self.end.data >= start else start


class InterviewForm(Form):
    person_name = StringField(_l("Person interviewed"), filters=[_strip], validators=[DataRequired(), Length(max=100)])
    interviewer = StringField(_l("By whom"), filters=[_strip], validators=[DataRequired(), Length(max=100)])
    held_on = DateField(_l("Date"), validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), filters=[_strip], validators=[DataRequired(), Length(max=2000)])
    item_ids = SelectMultipleField(_l("Items concerned"), coerce=coerce_id, choices=[], validate_choice=False)

    def values(self) -> dict:
        return {k: getattr(self, k).data for k in ("person_name", "interviewer", "held_on", "reason", "item_ids")}


class CircularForm(Form):
    number = IntegerField(_l("Circular No."), validators=[Optional(), NumberRange(min=1, max=100000)])
    title = StringField(_l("Title"), filters=[_strip], validators=[DataRequired(), Length(max=200)])
    issued_on = DateField(_l("Date"), validators=[DataRequired()])
    body = TextAreaField(_l("Text"), filters=[_strip], validators=[DataRequired(), Length(max=20000)])
    item_ids = SelectMultipleField(_l("Items covered"), coerce=coerce_id, choices=[], validate_choice=False)

    def validate_item_ids(self, field):
        if len(field.data or []) > 200:
            raise ValidationError(_l("Too many items."))

    def values(self) -> dict:
        return {k: getattr(self, k).data for k in ("number", "title", "issued_on", "body", "item_ids")}
