"""Forms of the notice pages; the services and domain check the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField


class SlipForm(FlaskForm):
    """The photo of a letter's slip, signed and dated by the member."""

    photo = FileField(_l("签字回执的照片"))
