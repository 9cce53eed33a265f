"""The printed documents (会议通知, 签到表, 选票, 计票单, 会议记录, 实施情况报告, 验收证明):
when each may be printed. The web layer asks the same functions whether to offer a link."""

from __future__ import annotations

from sunvote.domain.assembly import MeetingState
from sunvote.domain.errors import N_, Conflict, Unavailable
from sunvote.domain.procedure import MatterState

#: Matter states in which the implementation report can be printed: implementation has started.
REPORT_STATES: frozenset[MatterState] = frozenset({MatterState.IMPLEMENTING,
                                                   MatterState.COMPLETED})


def minutes_refusal(meeting: int, state: MeetingState) -> Conflict | None:
    """Minutes are built from the meeting's ledger records, which are complete only once the
    meeting is closed (``meeting.close``): before that they would be a record of half a meeting.
    Returns the refusal, or None."""
    if state != MeetingState.CLOSED:
        return Conflict("documents.minutes_after_close",
                        N_("第%(meeting)s次会议尚未结束：会议结束后才能生成会议记录"),
                        meeting=meeting)
    return None


def report_refusal(matter: str, state: MatterState) -> Conflict | None:
    """The implementation report (实施情况报告) reports implementation: it exists once
    implementation has started (``start_implementation``). Returns the refusal, or None."""
    if state not in REPORT_STATES:
        return Conflict("documents.report_after_start",
                        N_("事项%(number)s尚未开始实施：开始实施后才能生成实施情况报告"),
                        number=matter)
    return None


def certificate_refusal(matter: str, state: MatterState) -> Conflict | None:
    """The completion certificate (验收证明) states the supervisory committee's sign-off: it
    exists once the matter is completed. Returns the refusal, or None."""
    if state != MatterState.COMPLETED:
        return Conflict("documents.certificate_after_completion",
                        N_("事项%(number)s尚未经村务监督委员会验收：验收后才能生成验收证明"),
                        number=matter)
    return None


def font_refusal(found: bool) -> Unavailable | None:
    """A PDF is made only with a Chinese font it can embed (a reader without the font would show
    boxes). Returns the refusal when no such font file was found, or None."""
    if not found:
        return Unavailable("documents.font_missing",
                           N_("找不到可嵌入PDF的中文字体文件（TrueType），无法生成PDF；"
                              "请重新安装SunVote或设置SUNVOTE_PDF_FONT"))
    return None
