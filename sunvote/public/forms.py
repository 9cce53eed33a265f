"""Forms of the public matter page (no account): an objection during the notice period and a
household's rating of a completed matter. The rules are the services' (services/supervision.py);
these only carry what was typed."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField


class ObjectionForm(FlaskForm):
    """A villager objects to a published result: household number and a member's name as the
    register has them (never shown publicly), and the objection."""

    household = StringField(_l("户号"))
    name = StringField(_l("姓名（本户登记的家庭成员）"))
    text = TextAreaField(_l("异议内容"))
    # A field people never see; form-filling robots do. Filled in → refused.
    website = StringField()


class RatingForm(FlaskForm):
    """A household's satisfaction with a completed matter, 1–5 stars (one per household)."""

    household = StringField(_l("户号"))
    name = StringField(_l("姓名（本户登记的家庭成员）"))
    score = RadioField(_l("满意度"), choices=[(str(n), str(n)) for n in range(5, 0, -1)],
                       validate_choice=False)
    website = StringField()
