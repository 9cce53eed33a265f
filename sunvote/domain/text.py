"""Rules for free text typed by people: normalised, no control characters, bounded length."""

from __future__ import annotations

import unicodedata

from sunvote.domain.errors import N_, InvalidField, MissingField, Msg

_ALLOWED_CONTROLS_MULTILINE = {"\n", "\t"}


def clean_text(value: object, label: str, *, max_length: int, required: bool = True,
               multiline: bool = False) -> str | None:
    """Return ``value`` NFC-normalised and stripped (``\\r\\n`` folded to ``\\n``), or refuse it.

    Refuses non-text, control characters (tab and newline are allowed in multi-line text), and
    text longer than ``max_length`` characters. ``label`` is the field's message id. Returns
    None for an empty optional field.
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidField("input.invalid", N_("%(field)s格式不正确"), field=Msg(label))
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).strip()
    if not text:
        if required:
            raise MissingField("procedure.required_fields", N_("请填写%(field)s"), field=Msg(label))
        return None
    allowed = _ALLOWED_CONTROLS_MULTILINE if multiline else set()
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") and ch not in allowed:
            raise InvalidField("input.invalid", N_("%(field)s含有不允许的控制字符"),
                               field=Msg(label))
    if len(text) > max_length:
        raise InvalidField("input.invalid", N_("%(field)s不能超过%(max)s个字"),
                           field=Msg(label), max=max_length)
    return text


def whole_number(value: object, *, max_digits: int = 9) -> int | None:
    """``value`` as a whole number written in ASCII digits (at most ``max_digits``, so that it
    fits a database integer), or None. ``str.isdigit()`` alone also says yes to "²" and "①",
    which ``int()`` refuses; that was a 500."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > max_digits:
        return None
    return int(text)
