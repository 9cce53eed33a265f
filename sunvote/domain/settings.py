"""Per-township settings: each has a default from the law or local practice and bounds it may not
cross (stricter than the law is allowed, looser is refused)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from sunvote.domain.errors import N_, SettingOutOfBounds
from sunvote.domain.notices import SmsProvider


class PassRule(StrEnum):
    """How many "yes" votes pass a decision. The first is the law's (组织法 art. 26)."""

    MAJORITY_OF_PRESENT = "majority_of_present"  # yes > 1/2 of members present (law)
    MAJORITY_OF_ALL = "majority_of_all"  # yes > 1/2 of all members
    TWO_THIRDS_OF_PRESENT = "two_thirds_of_present"  # yes ≥ 2/3 of members present


PASS_RULE_LABELS: dict[PassRule, str] = {
    PassRule.MAJORITY_OF_PRESENT: N_("到会人员过半数同意（法定）"),
    PassRule.MAJORITY_OF_ALL: N_("全体组成人员过半数同意"),
    PassRule.TWO_THIRDS_OF_PRESENT: N_("到会人员三分之二以上同意"),
}


@dataclass(frozen=True)
class SettingSpec:
    """One setting: ``kind`` is int, bool, fraction or pass_rule; ``rule`` names its source."""

    key: str
    kind: str
    default: object
    rule: str
    minimum: int | Fraction | None = None
    maximum: int | Fraction | None = None


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("meeting_notice_days", "int", 3, "settings.meeting_notice_days", 1, 30),
    SettingSpec("public_notice_days", "int", 5, "settings.public_notice_days", 3, 30),
    SettingSpec("objection_reply_days", "int", 7, "settings.objection_reply_days", 1, 30),
    SettingSpec("quorum", "fraction", Fraction(2, 3), "settings.quorum",
                Fraction(2, 3), Fraction(1)),
    SettingSpec("pass_rule", "pass_rule", PassRule.MAJORITY_OF_PRESENT, "settings.pass_rule"),
    *(SettingSpec(f"pass_rule.category_{n}", "pass_rule", None, "settings.pass_rule")
      for n in range(1, 11)),
    SettingSpec("recusal_counts_present", "bool", True, "settings.recusal_counts_present"),
    SettingSpec("merge_propose_discuss", "bool", False, "settings.merge_propose_discuss"),
    SettingSpec("post_draft_after_discuss", "bool", False, "settings.post_draft_after_discuss"),
    SettingSpec("step_limit_days", "int", 30, "settings.step_limit_days", 1, 365),
    SettingSpec("witness_limit_days", "int", 3, "settings.witness_limit_days", 1, 30),
    SettingSpec("notice_ending_days", "int", 1, "settings.notice_ending_days", 1, 7),
    # Channels of notices (issue 18; domain/notices.py). The inbox, and letters to members no
    # SMS reaches, are always on: the law's meeting notice must reach every member.
    SettingSpec("notice_sms", "bool", True, "settings.notice_channels"),
    SettingSpec("notice_sms_provider", "sms_provider", "alibaba", "settings.notice_channels"),
    SettingSpec("notice_email", "bool", True, "settings.notice_channels"),
    SettingSpec("notice_group_robot", "bool", False, "settings.notice_channels"),
    # How long the hall's recordings are kept after their meeting closed (issue 19;
    # domain/recording.py): then they may be deleted, their hashes staying in the ledger.
    SettingSpec("recording_retention_days", "int", 365, "settings.recording_retention_days",
                7, 3650),
)

SETTINGS_BY_KEY: dict[str, SettingSpec] = {s.key: s for s in SETTINGS}

#: The text a fraction setting may be typed as: "2/3", "3/4", "1", "0.75".
FRACTION_TEXT = re.compile(r"\d{1,6}(/\d{1,6}|\.\d{1,6})?")


def validate_setting(key: str, value: object) -> object:
    """Return ``value`` in its canonical type for ``key``, or refuse it naming the bound broken."""
    spec = SETTINGS_BY_KEY.get(key)
    if spec is None:
        raise SettingOutOfBounds("input.invalid", N_("没有名为“%(key)s”的设置"), key=key)
    if value is None and spec.default is None:
        return None  # a per-category override that inherits the township default
    parsed = _parse(spec, value)
    if isinstance(parsed, int | Fraction) and not isinstance(parsed, bool):
        if spec.minimum is not None and parsed < spec.minimum:
            raise SettingOutOfBounds("settings.law_bound",
                                     N_("设置“%(key)s”不能低于%(bound)s"),
                                     key=key, bound=str(spec.minimum))
        if spec.maximum is not None and parsed > spec.maximum:
            raise SettingOutOfBounds("settings.law_bound",
                                     N_("设置“%(key)s”不能高于%(bound)s"),
                                     key=key, bound=str(spec.maximum))
    return parsed


def _parse(spec: SettingSpec, value: object) -> object:
    bad = SettingOutOfBounds("input.invalid", N_("设置“%(key)s”的值“%(value)s”格式不正确"),
                             key=spec.key, value=str(value)[:40])
    try:
        if spec.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise bad
            return int(value)
        if spec.kind == "bool":
            if isinstance(value, bool):
                return value
            if value in ("true", "false"):
                return value == "true"
            raise bad
        if spec.kind == "fraction":
            if isinstance(value, bool) or not isinstance(value, int | str | Fraction):
                raise bad
            # Only plain forms ("2/3", "0.75", "1"): Fraction() would also take "1e-999999999"
            # and spend minutes computing it.
            if isinstance(value, str) and not FRACTION_TEXT.fullmatch(value.strip()):
                raise bad
            return Fraction(value)
        if spec.kind == "pass_rule":
            return PassRule(str(value))
        if spec.kind == "sms_provider":
            return SmsProvider(str(value)).value
    except (ValueError, ZeroDivisionError):
        raise bad from None
    raise AssertionError(spec.kind)  # pragma: no cover


def encode_setting(value: object) -> str:
    """The stored text form of a validated setting value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def decode_setting(key: str, text: str) -> object:
    """The value of a stored setting (inverse of :func:`encode_setting`)."""
    if text == "" and SETTINGS_BY_KEY[key].default is None:
        return None
    return validate_setting(key, text)


@dataclass(frozen=True)
class TownshipSettings:
    """All settings of one township, defaults filled in."""

    values: Mapping[str, object]

    @classmethod
    def from_stored(cls, stored: Mapping[str, str],
                    defaults: Mapping[str, object] | None = None) -> TownshipSettings:
        """Build from stored text values; missing keys take ``defaults`` or the built-in ones."""
        values = {s.key: s.default for s in SETTINGS}
        values.update(defaults or {})
        values.update({k: decode_setting(k, v) for k, v in stored.items() if k in SETTINGS_BY_KEY})
        return cls(values)

    def __getitem__(self, key: str) -> object:
        return self.values[key]

    def pass_rule_for(self, category: int) -> PassRule:
        """The pass rule for a category: its override, or the township's default."""
        override = self.values.get(f"pass_rule.category_{category}")
        rule = override if override is not None else self.values["pass_rule"]
        assert isinstance(rule, PassRule)
        return rule

    @property
    def merge_propose_discuss(self) -> bool:
        """Whether steps 2 and 3 may be held together (一肩挑)."""
        return bool(self.values["merge_propose_discuss"])
