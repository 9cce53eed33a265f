"""Forms of the assembly pages; the services and domain check the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, TextAreaField
from wtforms.widgets import DateTimeLocalInput

from sunvote.web.forms import MultiCheckboxField


class ConveneForm(FlaskForm):
    """Convene a meeting for filed matters."""

    title = StringField(_l("会议名称"))
    place = StringField(_l("会议地点"))
    starts_at = StringField(_l("会议时间"), widget=DateTimeLocalInput())
    matters = MultiCheckboxField(_l("议程（已审议备案、待票决的事项）"), choices=[],
                                 validate_choice=False)


class RequestForm(FlaskForm):
    """A representative asks for a meeting."""

    reason = TextAreaField(_l("提议召开会议的理由"))


class PollForm(FlaskForm):
    """Open the vote on an agenda matter."""

    mode = SelectField(_l("表决方式"), choices=[("named", _l("记名表决（公开每人意见）")),
                                                ("secret", _l("无记名表决"))],
                       validate_choice=False)


class RecusalForm(FlaskForm):
    """Declare recusal before voting."""

    reason = TextAreaField(_l("回避理由（本人或近亲属的利害关系）"))


class VoidForm(FlaskForm):
    """Void a poll that cannot be tallied (its matter was decided elsewhere)."""

    reason = TextAreaField(_l("作废理由"))


class PaperForm(FlaskForm):
    """Paper ballots from the signed tally sheet; choices come as ``paper-<person id>``."""

    sheet = FileField(_l("签字计票单的照片或扫描件"))
