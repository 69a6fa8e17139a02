"""The filters of the record of looks (GET: nothing changes, no CSRF token) and the confirmation of
deleting a household at its resident's request."""
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from gridapp.core.forms import Form
from gridapp.privacy.services import KIND_LABELS


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class LooksFilterForm(Form):
    class Meta:
        csrf = False

    person = StringField(_l("Person (username or name)"), filters=[_strip], validators=[Optional(), Length(max=100)])
    household = IntegerField(_l("Household no."), validators=[Optional(), NumberRange(min=1, max=2**31 - 1)])
    kind = SelectField(_l("Kind"), choices=[("", _l("All kinds"))] + list(KIND_LABELS.items()), validate_choice=True)

    def filters(self) -> dict:
        """The valid filters only: a bad value is shown with its error and otherwise ignored."""
        return {
            "person": (self.person.data or "")[:100] if not self.person.errors else "",
            "household_id": self.household.data if not self.household.errors else None,
            "kind": (self.kind.data or "") if not self.kind.errors else "",
        }


class EraseHouseholdForm(Form):
    reason = StringField(_l("Reason (the resident's request)"), filters=[_strip],
                         validators=[DataRequired(), Length(min=4, max=200)])
    confirm = StringField(_l("Type the room to confirm"), filters=[_strip], validators=[DataRequired(), Length(max=64)])
