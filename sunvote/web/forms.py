"""Form fields the blueprints share: money in yuan, whole numbers, check boxes, and a form's
first error as text. Each blueprint's forms are in its own forms.py."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    Field,
    IntegerField,
    SelectMultipleField,
    StringField,
)
from wtforms.widgets import CheckboxInput, ListWidget


class YuanField(StringField):
    """An amount typed in yuan (up to 2 decimals); ``fen`` holds it in fen, or None if empty."""

    fen: int | None = None

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        text = (self.data or "").strip().replace(",", "").replace("，", "")
        self.fen = None
        if not text:
            return
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError(_l("金额格式不正确：请填写数字，最多两位小数")) from None
        if not amount.is_finite() or amount < 0:  # 1e309, Infinity, NaN, -1
            raise ValueError(_l("金额格式不正确：请填写数字，最多两位小数"))
        if amount >= Decimal("100000000000"):  # before quantize(), which fails on 1e30
            raise ValueError(_l("涉及金额超出合理范围"))
        if amount != amount.quantize(Decimal("0.01")):
            raise ValueError(_l("金额格式不正确：请填写数字，最多两位小数"))
        self.fen = int(amount * 100)


class NumberField(IntegerField):
    """An integer with a Chinese error message (WTForms' own would be English)."""

    data: int | None

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist and str(valuelist[0]).strip():
            try:
                self.data = int(str(valuelist[0]).strip())
            except ValueError:
                self.data = None
                raise ValueError(_l("请填写整数")) from None
        else:
            self.data = None


class MultiCheckboxField(SelectMultipleField):
    """Check boxes for picking several items."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def first_error(form: FlaskForm) -> str | None:
    """The first field error of a form, as text."""
    for field in form:
        assert isinstance(field, Field)
        if field.errors:
            return f"{field.label.text}：{field.errors[0]}"
    return None
