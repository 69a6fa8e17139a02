from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, FileField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput

from gridapp.core.forms import CheckboxList, Form


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class CheckboxesField(SelectMultipleField):
    widget = CheckboxList()
    option_widget = CheckboxInput()


class AnnouncementForm(Form):
    title = StringField(_l("Title"), filters=[_strip], validators=[DataRequired(), Length(max=100)],
                        description=_l("The title is also posted, with a link, to the group chats of the places "
                                       "it is published in; the text is not. Write no resident's name, phone "
                                       "or address in the title."))
    body = TextAreaField(_l("Text"), filters=[_strip], validators=[DataRequired(), Length(max=4000)],
                         render_kw={"rows": 8})
    image = FileField(_l("Picture (optional)"), render_kw={"accept": "image/jpeg,image/png,image/webp"})
    roles = CheckboxesField(_l("Who hears it"), choices=[], validate_choice=True)
    places = CheckboxesField(_l("Published in"), choices=[], validate_choice=True)
    publish_at = DateTimeLocalField(_l("Publish at (empty: now)"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
