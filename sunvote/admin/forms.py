"""Forms of the administration pages. They parse what the browser sends; the services and the
domain check the rules (with messages naming them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.widgets import DateInput

from sunvote.domain.administration import (
    CLOSE_RELATIONS,
    TOWNSHIP_APPOINTABLE,
    VILLAGE_APPOINTABLE,
)
from sunvote.web.forms import NumberField


class DateField(StringField):
    """A date typed as YYYY-MM-DD (the browser's date picker sends that); ``date`` holds it."""

    widget = DateInput()
    date: dt.date | None = None

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        text = (self.data or "").strip()
        self.date = None
        if text:
            try:
                self.date = dt.date.fromisoformat(text)
            except ValueError:
                raise ValueError(_l("日期格式应为 年-月-日，例如 2026-03-01")) from None


class TownshipForm(FlaskForm):
    """The district creates a township and its administrator."""

    code = StringField(_l("乡镇代码（小写字母、数字、连字符，用于网址）"))
    name = StringField(_l("乡镇名称"))
    admin_name = StringField(_l("乡镇管理员姓名"))
    admin_username = StringField(_l("管理员用户名（手机号）"))


class VillageForm(FlaskForm):
    """The township creates a village and its clerk."""

    code = StringField(_l("村代码（小写字母、数字、连字符，用于网址）"))
    name = StringField(_l("村名称"))
    clerk_name = StringField(_l("村务工作者姓名"))
    clerk_username = StringField(_l("村务工作者用户名（手机号）"))


class OfficialForm(FlaskForm):
    """The township admin adds a reviewer or another administrator."""

    name = StringField(_l("姓名"))
    username = StringField(_l("用户名（手机号）"))
    role = SelectField(_l("职务"), choices=[(r.value, _l(r.label)) for r in TOWNSHIP_APPOINTABLE],
                       validate_choice=False)


class KinshipForm(FlaskForm):
    """Record a close relative, found by household number and name."""

    household = StringField(_l("亲属的户号"))
    name = StringField(_l("亲属姓名"))
    relation = SelectField(_l("亲属是本人的"), choices=[(r, _l(r)) for r in CLOSE_RELATIONS],
                           validate_choice=False)


class HouseholdForm(FlaskForm):
    """A household of the village."""

    number = StringField(_l("户号"))
    head_name = StringField(_l("户主姓名"))
    group_name = StringField(_l("村民小组"))
    address = StringField(_l("住址"))


class PersonForm(FlaskForm):
    """A villager's details."""

    name = StringField(_l("姓名"))
    sex = SelectField(_l("性别"), choices=[("m", _l("男")), ("f", _l("女"))],
                      validate_choice=False)
    household = StringField(_l("户号（须已登记）"))
    id_number = StringField(_l("身份证号（可不填）"))
    phone = StringField(_l("手机号（可不填）"))
    party_member = BooleanField(_l("党员"))
    accounting_skill = BooleanField(_l("具备财会或管理知识"))


ROLE_CHOICES = [(r.value, _l(r.label)) for r in VILLAGE_APPOINTABLE]


class AppointForm(FlaskForm):
    """Appoint a villager to a village role for a term."""

    role = SelectField(_l("职务"), choices=ROLE_CHOICES, validate_choice=False)
    starts_on = DateField(_l("任期开始"))
    ends_on = DateField(_l("任期结束（可不填）"))
    households_represented = NumberField(_l("联系户数（村民代表）"))
    group_name = StringField(_l("所代表的村民小组（村民代表，可不填）"))


class EndTermForm(FlaskForm):
    """End a term early."""

    last_day = DateField(_l("任期最后一天"))
    reason = TextAreaField(_l("理由"))


class LoginForm(FlaskForm):
    """Create a login for a person."""

    username = StringField(_l("用户名（通常为手机号）"))


class ConfirmForm(FlaskForm):
    """A button that only carries the CSRF token."""


class ImportUploadForm(FlaskForm):
    """The file to preview."""

    file = FileField(_l("花名册文件（CSV或XLSX）"))


class ImportApplyForm(FlaskForm):
    """Apply a previewed file: the file itself travels back in the form, so the import does not
    depend on which server or worker shows the preview; it is planned again from scratch."""

    filename = HiddenField()
    content = HiddenField()
    sha256 = HiddenField()
