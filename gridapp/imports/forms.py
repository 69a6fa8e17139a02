"""The upload form of an import."""
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField

from gridapp.core.forms import Form

ACCEPT = ".xlsx,.csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,text/csv"


class UploadForm(Form):
    kind = SelectField(_l("The spreadsheet holds"))
    file = FileField(_l("Spreadsheet (.xlsx or .csv)"), render_kw={"accept": ACCEPT},
                     validators=[FileRequired(_l("Choose the file to import."))])

    def __init__(self, *args, kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [(k.name, k.label) for k in kinds]
