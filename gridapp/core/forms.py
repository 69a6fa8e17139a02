"""The base of every form (gridapp.core.forms.Form): what any field refuses, checked in one place.

Every value a field receives is text first: none may hold control characters (newline, carriage
return and tab only in a TextAreaField, where several lines are meant), lone surrogates or the
replacement character that undecodable bytes became. Every date or datetime field stays within
the years gridapp.core.params.MIN_YEAR…MAX_YEAR; outside them its value is dropped (the typed
text is shown again with the message) so nothing downstream computes with the year 9999. Number
fields refuse NaN and infinities.
Row-id select fields coerce with `coerce_id` / `coerce_optional_id` (a 32-bit key or nothing).
A period of town days (?start=…&end=…) is a `PeriodForm`, each feature stating its limits on its own.
"""
import math
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import DateField, DateTimeField, DecimalField, FloatField, TextAreaField, TimeField
from wtforms.validators import DataRequired, StopValidation
from wtforms.widgets import html_params

from gridapp.core.csrf import MaskedFormCSRF
from gridapp.core.params import MAX_ID, MAX_YEAR, MIN_YEAR, in_window, parse_int, text_problem
from gridapp.timeutil import town_today

MESSAGES = {
    "control": _l("This field cannot contain control characters."),
    "malformed": _l("This field contains characters that are not valid text."),
    "number": _l("Enter a number."),
}


def text_error(field) -> str | None:
    """The message for a field whose submitted text breaks the shared rule; None when it is clean."""
    multiline = isinstance(field, TextAreaField)
    for value in field.raw_data or ():
        problem = text_problem(value, multiline=multiline) if isinstance(value, str) else None
        if problem:
            return str(MESSAGES[problem])
    return None


def number_error(field) -> str | None:
    """The message for a number field holding NaN or an infinity (Decimal("sNaN") even breaks the
    comparisons of NumberRange); the value is dropped."""
    data = field.data if isinstance(field, (DecimalField, FloatField)) else None
    if data is None:
        return None
    finite = data.is_finite() if isinstance(data, Decimal) else isinstance(data, float) and math.isfinite(data)
    if finite:
        return None
    field.data = None
    return str(MESSAGES["number"])


def check_date_window(form, field):
    """A date or datetime within MIN_YEAR…MAX_YEAR, or none at all."""
    if field.data is not None and not in_window(field.data):
        field.data = None
        raise StopValidation(str(_l("Enter a date between %(first)d and %(last)d.", first=MIN_YEAR,
                                    last=MAX_YEAR)))


def _dated(field) -> bool:
    return isinstance(field, DateTimeField) and not isinstance(field, TimeField)


class Form(FlaskForm):
    """FlaskForm whose every field obeys the shared rules (see the module's docstring)."""

    class Meta:
        csrf_class = MaskedFormCSRF  # a fresh mask in every page (gridapp.core.csrf)

    def validate(self, extra_validators=None):
        extra = {name: list(chain) for name, chain in (extra_validators or {}).items()}
        for name, field in self._fields.items():
            if _dated(field):
                extra.setdefault(name, []).append(check_date_window)
            inline = getattr(self.__class__, f"validate_{name}", None)
            if inline is not None:
                extra.setdefault(name, []).append(inline)
        success = True
        for name, field in self._fields.items():
            message = text_error(field) or number_error(field)
            if message:
                # The field's own validators never see such a value (nor the database after them).
                field.errors = [message]
                if _dated(field):
                    field.data = None
                success = False
            elif not field.validate(self, extra.get(name, ())):
                success = False
        return success


def coerce_id(value) -> int:
    """SelectField(coerce=…) for a row id: 0…2**31-1 (0: the "none" choice); ValueError otherwise."""
    number = parse_int(value, 0, MAX_ID)
    if number is None:
        raise ValueError(f"not a row id: {value!r}"[:80])
    return number


def coerce_optional_id(value) -> int | None:
    """Like coerce_id, with "" (the blank choice) as None."""
    if value in (None, "", "None"):
        return None
    return coerce_id(value)


class PeriodForm(Form):
    """A period of town days, ?start=…&end=…, both days included (a GET form: no CSRF token).

    Each feature subclasses it beside its other forms and states its limits there, once:
    `default_days`, the period a page shows when none is asked for (that many days up to today);
    `max_days`, the longest period (None: no limit), and `too_long`, what a period beyond it or
    ending before it starts is told; `required`, whether a request that asks nothing at all (no
    query) is refused rather than given the default period.
    """

    class Meta:
        csrf = False  # a GET form: it only reads

    default_days = 7
    max_days: int | None = None
    too_long = _l("Choose a period of at most %(n)d days.")
    required = False

    start = DateField(_l("From"), validators=[DataRequired()])
    end = DateField(_l("To"), validators=[DataRequired()])

    @classmethod
    def default(cls, today: date | None = None) -> "PeriodForm":
        """The form showing the default period, before anything is asked."""
        form = cls(formdata=None)
        form.start.data, form.end.data = form.default_period(today)
        return form

    @classmethod
    def default_period(cls, today: date | None = None) -> tuple[date, date]:
        """The period shown before anything is asked: the last `default_days` days (no form needed)."""
        today = today or town_today()
        return today - timedelta(days=cls.default_days - 1), today

    def process(self, formdata=None, obj=None, data=None, extra_filters=None, **kwargs):
        formdata = self.meta.wrap_formdata(self, formdata)
        self.blank = not formdata  # nothing asked at all
        super().process(formdata, obj, data, extra_filters, **kwargs)

    def period_message(self) -> str:
        return str(self.too_long % {"n": self.max_days}) if self.max_days else str(self.too_long)

    def validate(self, extra_validators=None) -> bool:
        """Both days given, the end not before the start, at most `max_days` days. Nothing asked: the
        default period, unless `required`. Refused: a day missing is shown as the default's."""
        if self.blank and not self.required:
            self.start.data, self.end.data = self.default_period()
            return True
        success = self.days_valid(extra_validators)
        first, last = self.default_period()
        self.start.data, self.end.data = self.start.data or first, self.end.data or last
        if self.end.data < self.start.data or (
                self.max_days is not None and (self.end.data - self.start.data).days >= self.max_days):
            self.end.errors = [*self.end.errors, self.period_message()]
            success = False
        return success

    def days_valid(self, extra_validators=None) -> bool:
        """Each day a date within the years allowed (or left out, where its field allows it)."""
        return super().validate(extra_validators)


class CheckboxList:
    """A multiple choice as a list of checkboxes, each inside its label, so the whole row (not the
    small box alone) is what a finger taps; app.css makes each row 44 px tall."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        rows = [Markup('<li><label class="check">{} {}</label></li>').format(option(), escape(option.label.text))
                for option in field]
        return Markup("<ul {}>{}</ul>").format(Markup(html_params(class_="checks", **kwargs)), Markup("").join(rows))
