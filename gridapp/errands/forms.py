"""Forms of errands: filing, the claimant's steps (bought, delivered, released), staff's confirm and cancel."""
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from gridapp.core.forms import Form
from gridapp.core.params import parse_id
from gridapp.errands.models import CATEGORIES
from gridapp.errands.services import CATEGORY_LABELS, StaffFilter
from gridapp.timeutil import as_utc


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _optional_int(value):
    """A row id, or None (blank, or not a row id: the validators then say what is wrong)."""
    return None if value in (None, "", "None") else parse_id(value)


_NOT_NEGATIVE = NumberRange(min=0, message=_l("An amount cannot be negative."))


class ErrandForm(Form):
    household_id = SelectField(_l("Household"), coerce=_optional_int, choices=[], validate_choice=False,
                               validators=[DataRequired(message=_l("Choose a household."))])
    category = SelectField(_l("Category"), choices=[])
    items = TextAreaField(_l("What is needed (one item per line, with quantity)"), filters=[_strip],
                          validators=[DataRequired(), Length(max=2000)])
    estimated_cost = DecimalField(_l("Estimated cost (yuan)"), places=2, validators=[Optional(), _NOT_NEGATIVE])
    needed_by_at = DateTimeLocalField(_l("Needed by"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    urgent = BooleanField(_l("Urgent"))
    pay_on_delivery = BooleanField(_l("The resident pays on delivery"), default=True)
    notes = TextAreaField(_l("Notes for the volunteer"), filters=[_strip], validators=[Optional(), Length(max=1000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

        self.category.choices = [(c, CATEGORY_LABELS[c]) for c in CATEGORIES]

    def values(self) -> dict:
        return {"category": self.category.data, "items": self.items.data or "",
                "estimated_cost": self.estimated_cost.data, "needed_by_at": as_utc(self.needed_by_at.data),
                "urgent": self.urgent.data, "pay_on_delivery": self.pay_on_delivery.data,
                "notes": self.notes.data or ""}


class ActionForm(Form):
    """A button's form: only the CSRF token."""


class PurchaseForm(Form):
    actual_cost = DecimalField(_l("What it cost (yuan)"), places=2,
                               validators=[InputRequired(message=_l("Enter what the items cost.")), _NOT_NEGATIVE])
    receipt = FileField(_l("Receipt photo (optional)"), render_kw={"accept": "image/jpeg,image/png,image/webp"})


class DeliverForm(Form):
    note = StringField(_l("Note (optional)"), filters=[_strip], validators=[Optional(), Length(max=500)])
    photo = FileField(_l("Photo (optional)"), render_kw={"accept": "image/jpeg,image/png,image/webp"})


class ReasonForm(Form):
    reason = StringField(_l("Reason"), filters=[_strip], validators=[DataRequired(), Length(max=500)])


class ConfirmForm(Form):
    money_settled = BooleanField(_l("The money was settled with the volunteer"))
    note = StringField(_l("Note (optional)"), filters=[_strip], validators=[Optional(), Length(max=500)])


class StaffFilterForm(Form):
    """The staff pages' GET filters (list, statistics, export): nothing changes, so no CSRF token.
    A bad value is shown with its error and not applied."""

    class Meta:
        csrf = False

    community = SelectField(_l("Community"), coerce=_optional_int, choices=[], validate_choice=False)
    since = DateField(_l("Filed from"), validators=[Optional()])
    until = DateField(_l("Filed until"), validators=[Optional()])

    def set_communities(self, communities):
        self._allowed = {c.id for c in communities}
        self.community.choices = [("", _l("All my communities"))] + [(c.id, c.name) for c in communities]

    def validate_community(self, field):
        if field.data is not None and field.data not in getattr(self, "_allowed", set()):
            field.data = None
            raise ValidationError(_l("Choose one of your communities."))
        raw = field.raw_data[0] if field.raw_data else ""
        if field.data is None and raw not in ("", None):
            raise ValidationError(_l("Choose one of your communities."))

    def validate_until(self, field):
        since = self.since.data if not self.since.errors else None
        if isinstance(field.data, date) and isinstance(since, date):
            if field.data < since:
                raise ValidationError(_l("The end date is before the start date."))
            if field.data - since > timedelta(days=731):
                raise ValidationError(_l("Choose a period of at most two years."))

    def filters(self):
        """The valid filters only (call after validate())."""

        def ok(field):
            return field.data if not field.errors else None

        return StaffFilter(community_id=ok(self.community),
                           since=ok(self.since) if isinstance(self.since.data, date) else None,
                           until=ok(self.until) if isinstance(self.until.data, date) else None)
