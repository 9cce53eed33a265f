"""Notices that reach people (issue 18): the events that notify, the channels a notice goes out
on, the text of the legal meeting notice and the digests the ledger keeps of it, when a person
counts as reached, and how a failed delivery is retried.

The service (services/notices.py), the sender (services/notice_sender.py), the pages and the
offline verifier all decide these through the functions here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from enum import StrEnum
from zoneinfo import ZoneInfo

from sunvote.domain.errors import N_, Conflict, InvalidField

CHINA = ZoneInfo("Asia/Shanghai")


class NoticeEvent(StrEnum):
    """What happened that someone must be told of."""

    MEETING_CONVENED = "meeting_convened"  # the legal notice, to every assembly member
    POLL_OPENED = "poll_opened"  # to invited cloud voters
    OBJECTION_RECEIVED = "objection_received"  # to the supervisory committee
    OBJECTION_DUE = "objection_due"  # its answer is due (supervisory committee)
    NOTICE_ENDED = "notice_ended"  # public notice over: implementation may start
    SUGGESTION_ANSWERED = "suggestion_answered"  # taken up or answered (the villager)
    REVIEW_REQUESTED = "review_requested"  # to township reviewers
    RED_WARNING = "red_warning"  # to township and district administrators


EVENT_LABELS: dict[NoticeEvent, str] = {
    NoticeEvent.MEETING_CONVENED: N_("会议通知"),
    NoticeEvent.POLL_OPENED: N_("云表决开始"),
    NoticeEvent.OBJECTION_RECEIVED: N_("收到异议"),
    NoticeEvent.OBJECTION_DUE: N_("异议答复到期"),
    NoticeEvent.NOTICE_ENDED: N_("公示期满"),
    NoticeEvent.SUGGESTION_ANSWERED: N_("建议已答复"),
    NoticeEvent.REVIEW_REQUESTED: N_("待审核备案"),
    NoticeEvent.RED_WARNING: N_("红色预警"),
}


class NoticeChannel(StrEnum):
    """How a notice travels. ``inbox`` is the person's own phone page; ``letter`` a printed
    letter with a slip the member signs; ``dingtalk``/``wecom`` the village's group robot."""

    INBOX = "inbox"
    SMS = "sms"
    EMAIL = "email"
    DINGTALK = "dingtalk"
    WECOM = "wecom"
    LETTER = "letter"


CHANNEL_LABELS: dict[NoticeChannel, str] = {
    NoticeChannel.INBOX: N_("站内消息"),
    NoticeChannel.SMS: N_("短信"),
    NoticeChannel.EMAIL: N_("电子邮件"),
    NoticeChannel.DINGTALK: N_("钉钉群"),
    NoticeChannel.WECOM: N_("企业微信群"),
    NoticeChannel.LETTER: N_("书面通知"),
}

#: Channels the sender delivers to a provider; the others are done in the app (an inbox notice is
#: delivered when written, a letter when the clerk records its signed slip).
SENT_CHANNELS = frozenset({NoticeChannel.SMS, NoticeChannel.EMAIL, NoticeChannel.DINGTALK,
                           NoticeChannel.WECOM})

#: Channels that reach one person (a group robot reaches a group, not a member).
PERSONAL_CHANNELS = frozenset({NoticeChannel.INBOX, NoticeChannel.SMS, NoticeChannel.EMAIL,
                               NoticeChannel.LETTER})


class NoticeState(StrEnum):
    """Where a notice is. ``sending``: a sender has claimed it and is delivering it now;
    ``unknown``: a sender stopped during delivery, so it may or may not have arrived: never
    re-sent by itself (that could send it twice), shown to the clerk, who may send it again."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"


STATE_LABELS: dict[NoticeState, str] = {
    NoticeState.QUEUED: N_("待发送"),
    NoticeState.SENDING: N_("发送中"),
    NoticeState.SENT: N_("已送达"),
    NoticeState.FAILED: N_("发送失败"),
    NoticeState.UNKNOWN: N_("结果不明"),
}


class SmsProvider(StrEnum):
    """The SMS gateways Chinese governments use."""

    ALIBABA = "alibaba"  # Alibaba Cloud SMS (Dysmsapi SendSms)
    TENCENT = "tencent"  # Tencent Cloud SMS (SendSms 2021-01-11)


# --- Who gets which channel ---------------------------------------------------------------------

_SMS_NUMBER = re.compile(r"1[3-9]\d{9}")


def sms_number_refusal(phone: str | None) -> InvalidField | None:
    """Why ``phone`` cannot receive an SMS (none, a landline, a malformed number), or None. The
    register import flags such rows; the outbox writes no SMS to them (a letter instead)."""
    if not phone:
        return InvalidField("notice.sms_number", N_("没有手机号，收不到短信"))
    if not _SMS_NUMBER.fullmatch(phone):
        return InvalidField("notice.sms_number",
                            N_("“%(phone)s”不是可以接收短信的手机号"), phone=phone[:20])
    return None


def personal_channels(*, has_account: bool, phone: str | None, email: str | None,
                      sms_on: bool, email_on: bool, legal: bool) -> tuple[NoticeChannel, ...]:
    """The channels a notice to one person goes out on: the inbox if they have a login; an SMS
    if the township sends them and the number can take one; an e-mail if the township sends them
    and the person has an address. A ``legal`` notice (the meeting notice) that no SMS can carry
    is also printed as a letter, so that every member can be reached in person."""
    channels: list[NoticeChannel] = []
    if has_account:
        channels.append(NoticeChannel.INBOX)
    sms = sms_on and sms_number_refusal(phone) is None
    if sms:
        channels.append(NoticeChannel.SMS)
    if email_on and email:
        channels.append(NoticeChannel.EMAIL)
    if legal and not sms:
        channels.append(NoticeChannel.LETTER)
    return tuple(channels)


# --- The legal meeting notice and its digests -----------------------------------------------------


def meeting_notice_text(village: str, meeting: int, title: str, place: str,
                        starts_at: dt.datetime, agenda: Sequence[str]) -> str:
    """The legal notice of a meeting, in Chinese: what every member is sent (each channel adds
    the link to the meeting's page). ``starts_at`` is shown in China time. The ledger's
    ``meeting.notice`` keeps its SHA-256, and the verifier rebuilds it from ``meeting.convene``
    and the notice's ``village``: the notice said that meeting's day, place and agenda."""
    local = starts_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    return (f"【阳光票决】{village}第{meeting}次村民代表会议通知：{title}。"
            f"时间{local}，地点{place}。议程：事项{'、'.join(agenda)}。请准时参加。")


def not_yet_notified(members: Iterable[int], notified: Iterable[int]) -> list[int]:
    """The members of a convened meeting's assembly (``members``: on the meeting day as the
    terms now stand, or its roster as it opens) whom its notice has not reached yet: those who
    joined the assembly after the notice was issued. They get the same notice, late
    (``meeting.notice_added``), and the verifier holds an opening to having notified every
    member of its roster. Person ids, increasing."""
    return sorted(set(members) - set(notified))


def text_digest(text: str) -> str:
    """SHA-256 (hex) of a message's UTF-8 text."""
    return hashlib.sha256(text.encode()).hexdigest()


def recipients_digest(person_ids: Iterable[int]) -> str:
    """SHA-256 (hex) of the recipient list: the person ids in increasing order, as the JSON array
    ``[3,7,12]`` (no spaces)."""
    ids = sorted(set(person_ids))
    return hashlib.sha256(json.dumps(ids, separators=(",", ":")).encode()).hexdigest()


# --- Reached, and in time -------------------------------------------------------------------------


def notice_refusal(meeting_day: dt.date, notice_day: dt.date, notice_days: int) -> Conflict | None:
    """Members must be notified at least ``notice_days`` days before the meeting (a township
    setting, default 3): the refusal of a notice given on ``notice_day`` for a meeting on
    ``meeting_day``, naming the earliest lawful meeting date, or None."""
    if (meeting_day - notice_day).days < notice_days:
        return Conflict("assembly.notice",
                        N_("会议须至少提前%(days)s天通知组成人员：最早可定在%(earliest)s"),
                        days=notice_days,
                        earliest=(notice_day + dt.timedelta(days=notice_days)).isoformat())
    return None


def reached_at(channel: NoticeChannel, state: NoticeState, sent_at: dt.datetime | None,
               read_at: dt.datetime | None) -> dt.datetime | None:
    """When one notice reached its person, or None: an inbox notice when it was read, an SMS or
    e-mail when the provider accepted it, a letter when its signed slip was recorded. Group
    robots reach nobody in person."""
    if channel not in PERSONAL_CHANNELS:
        return None
    if channel is NoticeChannel.INBOX:
        return read_at
    return sent_at if state is NoticeState.SENT else None


def meeting_notice_deadline(meeting_day: dt.date, notice_days: int) -> dt.date:
    """The last day on which a member may be reached for a meeting on ``meeting_day``."""
    return meeting_day - dt.timedelta(days=notice_days)


# --- Retries ------------------------------------------------------------------------------------

#: A delivery that failed for a passing reason (timeout, 5xx, rate limit) is tried this many
#: times in all before the notice is marked failed.
MAX_ATTEMPTS = 8


def retry_delay(attempts: int) -> dt.timedelta | None:
    """How long to wait after ``attempts`` failed tries before the next one (30 s, 1 min, 2 min
    … capped at one hour), or None when no try is left."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return dt.timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


# --- Event texts ----------------------------------------------------------------------------------
# What each event's notice says, in Chinese, short enough for one SMS (the channel adds the link to
# the page that acts on it). Titles and reasons are clipped, never the facts that must be acted on.

_PREFIX = "【阳光票决】"


def _clip(text: str, length: int = 30) -> str:
    """``text`` cut to ``length`` characters, with an ellipsis when cut."""
    return text if len(text) <= length else text[:length - 1] + "…"


def _local(at: dt.datetime) -> str:
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def poll_opened_text(village: str, meeting: int, matter: str, title: str) -> str:
    """To the meeting's invited cloud voters: the vote on a matter has opened."""
    return (f"{_PREFIX}{village}第{meeting}次村民代表会议开始表决事项{matter}"
            f"“{_clip(title)}”，请在已登记的手机上投票。")


def objection_received_text(village: str, matter: str, objection: int,
                            due_at: dt.datetime) -> str:
    """To the supervisory committee: a villager objected; the answer is due by ``due_at``."""
    return (f"{_PREFIX}{village}事项{matter}收到第{objection}条异议，"
            f"请于{_local(due_at)}前答复。")


def objection_due_text(village: str, matter: str, objection: int, due_at: dt.datetime,
                       overdue: bool) -> str:
    """To the supervisory committee: an objection's answer is due soon, or overdue."""
    state = "已超过答复期限" if overdue else "即将到答复期限"
    return (f"{_PREFIX}{village}事项{matter}的第{objection}条异议{state}"
            f"（{_local(due_at)}），请尽快答复。")


def notice_ended_text(village: str, matter: str, title: str) -> str:
    """To the village committee director: the notice period is over, implementation may start
    (once every objection is answered: services.supervision_checks decides)."""
    return (f"{_PREFIX}{village}事项{matter}“{_clip(title)}”公示期已满，"
            f"异议均已答复的，可以开始实施。")


def suggestion_taken_up_text(village: str, suggestion: int, matter: str) -> str:
    """To the villager who left a phone number: their suggestion became a matter."""
    return (f"{_PREFIX}您向{village}提出的第{suggestion}号建议已立为事项{matter}，"
            f"可凭查询码跟踪进展。")


def suggestion_declined_text(village: str, suggestion: int) -> str:
    """To the villager who left a phone number: their suggestion was answered, not taken up
    (the reason is on the suggestion's public page)."""
    return (f"{_PREFIX}您向{village}提出的第{suggestion}号建议已答复：暂不采纳，"
            f"原因请查看建议页面。")


def review_requested_text(village: str, matter: str, title: str) -> str:
    """To the township's reviewers: a matter awaits review and filing (step 4)."""
    return f"{_PREFIX}{village}事项{matter}“{_clip(title)}”已提交审议备案，请审核。"


def red_warning_text(village: str, warning: str) -> str:
    """To the township's and district's administrators: a red warning (domain/oversight.py),
    ``warning`` being its text in Chinese."""
    return f"{_PREFIX}红色预警：{village}，{_clip(warning, 60)}"


# --- What the clerk and the reader may do with a notice -------------------------------------------

#: The largest photo of a signed letter slip that is kept (a phone's photo, not a scan of a book).
MAX_SLIP_BYTES = 8 * 1024 * 1024

#: The content types a slip's photo may have (services/files.py decides the type by content).
SLIP_TYPES = frozenset({"image/jpeg", "image/png"})


def resend_refusal(channel: NoticeChannel, state: NoticeState) -> Conflict | None:
    """Only an SMS or e-mail that failed, or whose outcome is unknown (a sender stopped while
    delivering it), may be sent again: a queued or sending one is on its way, a sent one arrived,
    and an inbox notice or a letter is not sent by a provider. The page offers "send again" where
    this is None."""
    if channel not in (NoticeChannel.SMS, NoticeChannel.EMAIL) or state not in (
            NoticeState.FAILED, NoticeState.UNKNOWN):
        return Conflict("notice.resend",
                        N_("只有发送失败或结果不明的短信、电子邮件可以再次发送"))
    return None


def letter_receipt_refusal(channel: NoticeChannel, recorded: bool) -> Conflict | None:
    """A signed slip is recorded for a letter notice, once (its photo is the evidence that the
    member was reached; a second photo would replace it)."""
    if channel is not NoticeChannel.LETTER:
        return Conflict("notice.letter", N_("只有书面通知可以登记签收回执"))
    if recorded:
        return Conflict("notice.letter", N_("这封书面通知的签收回执已经登记"))
    return None


def slip_photo_refusal(content_type: str, size: int) -> InvalidField | None:
    """The photo of a signed slip: a JPEG or PNG image, at most :data:`MAX_SLIP_BYTES`."""
    if content_type not in SLIP_TYPES:
        return InvalidField("notice.slip_photo",
                            N_("签收回执请上传照片（JPG或PNG图片）"))
    if size > MAX_SLIP_BYTES:
        return InvalidField("notice.slip_photo", N_("签收回执照片不能超过%(mb)sMB"),
                            mb=MAX_SLIP_BYTES // (1024 * 1024))
    return None


def site_path(link: str) -> str | None:
    """``link`` if it is a path of this site ("/v/…"), else None: a notice's link is followed
    from the inbox only when it cannot lead to another site ("//evil", "https://…", "/\\evil")."""
    if (not link.startswith("/") or link.startswith("//") or "\\" in link
            or any(ord(c) < 0x21 for c in link)):
        return None
    return link


def not_reached_warning(reached: Sequence[dt.date | None], deadline: dt.date, today: dt.date
                        ) -> tuple[str, str, dict[str, object]] | None:
    """The warning ``notice.not_reached`` of a meeting from the day each member was reached
    (China time; None: not yet): (rule code, message id, parameters), or None. Up to the
    deadline it counts the members still to reach and says by when; after it, the members not
    reached in time (reached late, or not at all)."""
    if today <= deadline:
        count = sum(1 for day in reached if day is None)
        msgid = N_("还有%(n)s名组成人员未收到会议通知，须在%(deadline)s前送达")
    else:
        count = sum(1 for day in reached if day is None or day > deadline)
        msgid = N_("%(n)s名组成人员未能在%(deadline)s前收到会议通知（未按期送达）")
    if count == 0:
        return None
    return "notice.not_reached", msgid, {"n": count, "deadline": deadline.isoformat()}


#: How long a due notice may wait in the outbox before the township is warned that a channel
#: is not delivering (the sender polls every few seconds and retries within minutes).
STALLED_AFTER = dt.timedelta(minutes=15)


def stalled_warning(waiting: int, oldest_due_at: dt.datetime | None, now: dt.datetime
                    ) -> tuple[str, str, dict[str, object]] | None:
    """The warning ``notice.stalled`` of a township's outbox: ``waiting`` notices due and not
    delivered (queued, or failed and not yet retried), the oldest due since ``oldest_due_at``.
    Warned when that one has waited longer than STALLED_AFTER: a provider outage, a wrong
    credential, or no sender running."""
    if not waiting or oldest_due_at is None or now - oldest_due_at <= STALLED_AFTER:
        return None
    minutes = int((now - oldest_due_at).total_seconds() // 60)
    return ("notice.stalled", N_("%(n)s条通知未能发出，最早的已等待%(minutes)s分钟：请检查短信、"
                                 "邮件等发送渠道的配置和发送进程"),
            {"n": waiting, "minutes": minutes})
