"""Forms for the grid's places, households and organisations."""
import re

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from gridapp.core.forms import Form, coerce_optional_id
from gridapp.core.templating import COMMUNITY_KIND_LABELS
from gridapp.grid.models import COMMUNITY_KINDS


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _phone(value):
    """People write phone numbers with spaces and dashes; keep the digits (and a leading +)."""
    return re.sub(r"[\s\-]", "", value) if isinstance(value, str) else value


class PlaceForm(Form):
    """Base: `layout` lists the field names per row (several names share a row on wide screens)."""

    layout: tuple = ()

    def __init__(self, *args, id_prefix: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if id_prefix:
            # Several forms share a page (an add form, rows being edited inline): the
            # field names stay plain, their element ids become unique.
            for f in self:
                f.id = f"{id_prefix}-{f.name}"
                f.label.field_id = f.id

    def values(self) -> dict:
        """The submitted values, keyed as the service expects them."""
        return {name: getattr(self, name).data for row in self.layout for name in row}


class TownForm(PlaceForm):
    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(), Length(max=100)])
    layout = (("name",),)


class CommunityForm(PlaceForm):
    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(), Length(max=100)])
    kind = SelectField(_l("Kind"), choices=[])
    layout = (("name",), ("kind",))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

        self.kind.choices = [(k, COMMUNITY_KIND_LABELS[k]) for k in COMMUNITY_KINDS]


class GridForm(PlaceForm):
    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(), Length(max=100)])
    layout = (("name",),)


class CompoundForm(PlaceForm):
    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(), Length(max=100)])
    address = StringField(_l("Address"), filters=[_strip], validators=[Optional(), Length(max=200)])
    entrance = StringField(_l("Open entrance"), filters=[_strip], validators=[Optional(), Length(max=200)],
                           description=_l("The one entrance kept open, e.g. the north gate"))
    property_company_id = SelectField(_l("Property company"), coerce=coerce_optional_id, choices=[])
    work_unit_id = SelectField(_l("Work unit"), coerce=coerce_optional_id, choices=[])
    layout = (("name",), ("address",), ("entrance",), ("property_company_id", "work_unit_id"))

    def set_org_choices(self, companies, units):
        self.property_company_id.choices = [("", _l("— none —"))] + [(c.id, c.name) for c in companies]
        self.work_unit_id.choices = [("", _l("— none —"))] + [(u.id, u.name) for u in units]


class HouseholdForm(PlaceForm):
    building = StringField(_l("Building"), filters=[_strip], validators=[Optional(), Length(max=20)])
    unit = StringField(_l("Unit"), filters=[_strip], validators=[Optional(), Length(max=20)])
    room = StringField(_l("Room"), filters=[_strip], validators=[DataRequired(), Length(max=20)])
    head_name = StringField(_l("Head of household"), filters=[_strip], validators=[DataRequired(), Length(max=100)])
    phone = StringField(_l("Phone"), filters=[_strip, _phone], render_kw={"type": "tel", "inputmode": "tel"},
                        validators=[Optional(), Regexp(r"^\+?[0-9]{7,20}$", message=_l(
                            "Enter a phone number of 7 to 20 digits, optionally starting with +."))])
    housebound = BooleanField(_l("Housebound"))
    living_alone = BooleanField(_l("Living alone"))
    notes = TextAreaField(_l("Notes"), filters=[_strip], validators=[Optional(), Length(max=2000)],
                          render_kw={"rows": 2})
    # No "under observation until": it follows the household's people's observations (/observation/).
    layout = (("building", "unit", "room"), ("head_name",), ("phone",), ("housebound",), ("living_alone",),
              ("notes",))


class OrgForm(PlaceForm):
    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(), Length(max=100)])
    phone = StringField(_l("Phone"), filters=[_strip], render_kw={"type": "tel"},
                        validators=[Optional(), Length(max=32)])
    layout = (("name",), ("phone",))


class HouseholdSearchForm(Form):
    """The GET search over households: nothing changes, so no CSRF token."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), filters=[_strip], validators=[Optional(), Length(max=100)])
    housebound = BooleanField(_l("Housebound"))
    living_alone = BooleanField(_l("Living alone"))
    observed = BooleanField(_l("Under home observation"))

    def filters(self) -> dict:
        return {"housebound": self.housebound.data, "living_alone": self.living_alone.data,
                "observed": self.observed.data}
