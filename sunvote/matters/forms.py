"""Forms of the matter pages: the step actions and the suggestions inbox. They parse what the
browser sends (CSRF, numbers, files); the procedure engine checks the rules and required fields,
with messages naming them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional

from sunvote.domain.matters import CATEGORIES
from sunvote.domain.procedure import Step
from sunvote.domain.text import whole_number
from sunvote.web.forms import MultiCheckboxField, NumberField, YuanField


class VersionedForm(FlaskForm):
    """Every step form carries the matter version it was made from (stale forms are refused)."""

    version = HiddenField()

    def version_number(self) -> int | None:
        """The version as an int, or None when missing or garbled (then the check is skipped
        only if absent; garbled values are refused by the view)."""
        return whole_number(self.version.data or "")


def materials_field() -> MultipleFileField:
    """Files attached to a step (declared last in each form so it shows last)."""
    return MultipleFileField(_l("附件材料（PDF、图片、Word、Excel、文本）"))


CATEGORY_CHOICES = [("", _l("请选择类别"))] + [(str(c.code), f"{c.code}. {c.name}")
                                                for c in CATEGORIES]


class ProposeForm(VersionedForm):
    """Step 2: the party branch's proposal."""

    category = SelectField(_l("事项类别"), choices=CATEGORY_CHOICES, validate_choice=False)
    category_reason = TextAreaField(_l("属于必须票决事项的理由（第十类必填）"))
    title = StringField(_l("事项名称"))
    summary = TextAreaField(_l("方案摘要"))
    amount = YuanField(_l("涉及金额（元）"))
    materials = materials_field()

    def fields_for_engine(self) -> dict[str, object]:
        return {"category": self.category.data, "category_reason": self.category_reason.data,
                "title": self.title.data, "summary": self.summary.data,
                "amount_fen": self.amount.fen}


class MeetingMixin:
    """The joint meeting's attendance and minutes (step 3)."""

    meeting_date = StringField(_l("会议日期"), render_kw={"type": "date"})
    expected = NumberField(_l("应到人数"), validators=[Optional()])
    present = NumberField(_l("实到人数"), validators=[Optional()])
    minutes = TextAreaField(_l("会议纪要"))

    def meeting_fields(self) -> dict[str, object]:
        return {"meeting_date": self.meeting_date.data,
                "expected": self.expected.data,
                "present": self.present.data,
                "minutes": self.minutes.data}


class DiscussForm(VersionedForm, MeetingMixin):
    """Step 3: the joint meeting submits the agreed plan for review, or drops the matter."""

    decision = RadioField(_l("商议结论"), choices=[("discuss", _l("同意，提交乡镇审议")),
                                                   ("drop", _l("不再推进，终止事项"))],
                          default="discuss", validate_choice=False)
    plan = TextAreaField(_l("商定方案（可修改提议方案）"))
    amount = YuanField(_l("修改后的涉及金额（元，不改可不填）"))
    reason = TextAreaField(_l("终止理由（终止时必填）"))
    materials = materials_field()

    def fields_for_engine(self) -> dict[str, object]:
        fields = self.meeting_fields()
        if self.decision.data == "drop":
            fields["reason"] = self.reason.data
        else:
            fields["plan"] = self.plan.data
            fields["amount_fen"] = self.amount.fen
        return fields


class MergedForm(ProposeForm, MeetingMixin):
    """Steps 2 and 3 together (一肩挑, where the township allows it)."""

    materials = materials_field()

    def fields_for_engine(self) -> dict[str, object]:
        return super().fields_for_engine() | self.meeting_fields()


class ReviewForm(VersionedForm):
    """Step 4: the township files the plan, or returns it with reasons."""

    decision = RadioField(_l("审议结论"), choices=[("file", _l("同意备案")),
                                                   ("return", _l("退回重新商议"))],
                          default="file", validate_choice=False)
    filing_no = StringField(_l("备案号"))
    reason = TextAreaField(_l("退回理由（退回时必填）"))
    materials = materials_field()

    def fields_for_engine(self) -> dict[str, object]:
        if self.decision.data == "return":
            return {"reason": self.reason.data}
        return {"filing_no": self.filing_no.data}


class ReasonForm(VersionedForm):
    """Withdrawal by the party branch: a reason."""

    reason = TextAreaField(_l("理由"))

    def fields_for_engine(self) -> dict[str, object]:
        return {"reason": self.reason.data}


BREACH_CHOICES = [("", _l("请选择步骤"))] + [(s.value, f"{s.number}. {s.label}")
                                             for s in Step if s is not Step.SUGGEST]


class BreachForm(VersionedForm):
    """The supervisory committee flags a procedural breach, sending the matter back."""

    breach_step = SelectField(_l("发生违规的步骤"), choices=BREACH_CHOICES, validate_choice=False)
    reason = TextAreaField(_l("违规情况及理由"))

    def fields_for_engine(self) -> dict[str, object]:
        return {"breach_step": self.breach_step.data, "reason": self.reason.data}


class StartImplementationForm(VersionedForm):
    """Step 6: after the notice period, the village committee starts implementation."""

    implementer = StringField(_l("实施单位或负责人"))
    planned_end = StringField(_l("计划完成日期"), render_kw={"type": "date"})
    arrangement = TextAreaField(_l("实施安排（工期、质量要求、资金拨付方式等）"))
    materials = materials_field()

    def fields_for_engine(self) -> dict[str, object]:
        return {"implementer": self.implementer.data, "planned_end": self.planned_end.data,
                "arrangement": self.arrangement.data}


class CompleteForm(VersionedForm):
    """Step 6: the supervisory committee signs off the finished work, or refuses with reasons
    (the matter stays in implementation until the work is put right)."""

    decision = RadioField(_l("验收结论"), choices=[("complete", _l("验收合格，事项完成")),
                                                   ("refuse", _l("验收不通过，退回整改"))],
                          default="complete", validate_choice=False)
    report = TextAreaField(_l("验收意见（合格时必填）"))
    reason = TextAreaField(_l("不通过的理由和整改要求（不通过时必填）"))
    materials = materials_field()

    def fields_for_engine(self) -> dict[str, object]:
        if self.decision.data == "refuse":
            return {"reason": self.reason.data}
        return {"report": self.report.data}


class OpenMatterForm(FlaskForm):
    """Step 1: open a matter from suggestions."""

    suggestion_ids = MultiCheckboxField(_l("并入的建议"), choices=[], validate_choice=False)
    title = StringField(_l("事项名称"))
    text = TextAreaField(_l("建议内容（汇总）"))
    materials = materials_field()

    def selected_ids(self) -> list[int]:
        """The chosen suggestion ids; a ValueError for anything that is not one (a huge number
        overflowed the database's integer), which the caller refuses."""
        ids = [whole_number(v) for v in (self.suggestion_ids.data or [])]
        if None in ids:
            raise ValueError("not a suggestion id")
        return [i for i in ids if i is not None]


class RecordSuggestionForm(FlaskForm):
    """The clerk records a paper or box suggestion."""

    channel = SelectField(_l("来源"), choices=[("paper", _l("书面")), ("box", _l("意见箱")),
                                               ("township", _l("乡镇交办"))],
                          validate_choice=False)
    text = TextAreaField(_l("建议内容"))
    name = StringField(_l("建议人（可不填）"))
    party_member = BooleanField(_l("建议人是党员"))


class DeclineSuggestionForm(FlaskForm):
    """The clerk answers a suggestion: not taken up, with the reason (public)."""

    number = SelectField(_l("建议"), choices=[], validate_choice=False)
    reason = TextAreaField(_l("未采纳理由（建议人和村民都能看到）"))
