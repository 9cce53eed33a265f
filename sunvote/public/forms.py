"""Forms of the public pages (no account): an objection during the notice period, a household's
rating of a completed matter, and a villager's suggestion from the QR poster. The rules are the
services'; these only carry what was typed."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField, TextAreaField


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


class PublicSuggestionForm(FlaskForm):
    """A villager's suggestion from the QR poster (no account)."""

    text = TextAreaField(_l("您的建议"))
    name = StringField(_l("姓名（可不填）"))
    contact = StringField(_l("联系方式（可不填，仅村务工作者可见）"))
    party_member = BooleanField(_l("我是党员"))
    show_name = BooleanField(_l("公开我的姓名"))
    # A field people never see; form-filling robots do. Filled in → refused.
    website = StringField()
