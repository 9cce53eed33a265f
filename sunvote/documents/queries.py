"""What each printed document says, read from the database — and, for the minutes, from the
village's ledger records of the meeting, so that anyone can check the minutes against the log.
Called inside ``force_locale("zh")``: labels come out Chinese, as the papers are."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from sunvote.domain.assembly import (
    CHANNEL_LABELS,
    CHOICE_LABELS,
    MeetingState,
    PollState,
    VoteMode,
    not_voted,
)
from sunvote.domain.ledger.records import parse_record
from sunvote.domain.roles import Role
from sunvote.domain.settings import PASS_RULE_LABELS, PassRule
from sunvote.extensions import db
from sunvote.models import (
    ImplementationUpdate,
    LedgerRecord,
    Matter,
    Meeting,
    MeetingItem,
    Person,
    Poll,
    StepRecord,
    Village,
)
from sunvote.models.base import utcnow
from sunvote.services import ledger, roster
from sunvote.services.register import current_terms
from sunvote.services.settings import township_settings
from sunvote.web import pdf
from sunvote.web.links import absolute_url
from sunvote.web.templating import (
    format_time,
    format_yuan,
    label,
    poll_not_voted,
)

#: The ledger record types of a meeting (docs/ledger-format.md, "The assembly").
MEETING_RECORDS = ("meeting.convene", "meeting.notice", "meeting.open", "meeting.attend",
                   "poll.open", "poll.recuse", "ballot.cast", "poll.participation", "paper.confirm",
                   "poll.close", "ballot.secret", "poll.tally", "poll.void", "meeting.close")
VERDICTS = {"passed": "通过", "rejected": "未通过"}


def _roles_text(roles: list[str] | str) -> str:
    values = roles.split(",") if isinstance(roles, str) else roles
    return "、".join(label("role", r) for r in values if r)


def meeting_head(v: Village, meeting: Meeting) -> pdf.MeetingHead:
    return pdf.MeetingHead(township=v.township.name, village=v.name, number=meeting.number,
                           title=meeting.title, starts=format_time(meeting.starts_at),
                           place=meeting.place)


def _members(v: Village, meeting: Meeting) -> tuple[list[tuple[int, str, str]], bool]:
    """(person id, name, roles) of the frozen roster once the meeting opened; before, the
    assembly as it stands today (the roster the meeting will freeze)."""
    if meeting.state != MeetingState.CONVENED:
        return [(m.person_id, m.person.name, _roles_text(m.roles))
                for m in meeting.members], True
    members = roster.assembly_roster(v, utcnow())
    names = dict(db.session.execute(select(Person.id, Person.name).where(
        Person.id.in_(list(members)))).all())
    return [(pid, names[pid], _roles_text(roles)) for pid, roles in members.items()], False


def meeting_notice(v: Village, meeting: Meeting) -> pdf.MeetingNotice:
    members, _frozen = _members(v, meeting)
    days = township_settings(v.township_id)["meeting_notice_days"]
    return pdf.MeetingNotice(
        head=meeting_head(v, meeting),
        agenda=[(i.matter.number, i.matter.title) for i in meeting.items],
        attendees=f"村民代表会议组成人员（村民委员会成员和村民代表）共{len(members)}人；"
                  "村务监督委员会成员列席监督",
        notice_rule=f"本次会议于{format_time(meeting.convened_at)}召集，提前{meeting.notice_days}"
                    f"天通知（本乡镇规定会议召开前至少{days}天通知组成人员并提供事项材料；"
                    "《村民委员会组织法》第二十六条）",
        convened=format_time(meeting.convened_at)[:10],
        url=absolute_url("public.village", code=v.code))


def signin_sheet(v: Village, meeting: Meeting) -> pdf.SigninSheet:
    members, frozen = _members(v, meeting)
    # The check-in page without its token or live code: the member types the code the hall
    # screen shows. A printed token would stay valid after the paper leaves the hall.
    url = absolute_url("assembly.check_in_self", code=v.code, number=meeting.number)
    return pdf.SigninSheet(head=meeting_head(v, meeting),
                           members=[(name, roles) for _id, name, roles in members],
                           frozen=frozen, checkin_url=url)


def agenda_item(meeting: Meeting, position: int) -> tuple[MeetingItem, Poll | None] | None:
    item = next((i for i in meeting.items if i.position == position), None)
    if item is None:
        return None
    poll = next((p for p in meeting.polls if p.matter_id == item.matter_id), None)
    return item, poll


def ballots(v: Village, meeting: Meeting, item: MeetingItem, poll: Poll | None,
            secret: bool) -> pdf.PaperBallots:
    members, _frozen = _members(v, meeting)
    return pdf.PaperBallots(head=meeting_head(v, meeting), matter=item.matter.number,
                            matter_title=item.matter.title, secret=secret,
                            voters=[name for _id, name, _roles in members],
                            poll=poll.number if poll else None)


def tally_sheet(v: Village, meeting: Meeting, item: MeetingItem, poll: Poll | None,
                secret: bool) -> pdf.TallySheet:
    members, _frozen = _members(v, meeting)
    return pdf.TallySheet(head=meeting_head(v, meeting), matter=item.matter.number,
                          matter_title=item.matter.title, secret=secret,
                          members=[name for _id, name, _roles in members],
                          poll=poll.number if poll else None,
                          present=poll.present if poll else None)


def _ledger_time(text: str) -> str:
    return format_time(dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC))


def meeting_records(v: Village, number: int) -> list[tuple[int, dict[str, Any]]]:
    """The meeting's records in log order: from its ``meeting.convene`` to its
    ``meeting.close``, only the assembly's types, only this meeting's."""
    ends: dict[str, int] = {}
    for seq, data in db.session.execute(
            select(LedgerRecord.seq, LedgerRecord.data).where(
                LedgerRecord.village_id == v.id,
                LedgerRecord.type.in_(("meeting.convene", "meeting.close")))
            .order_by(LedgerRecord.seq)):
        record = parse_record(data)
        if record.body.get("meeting") == number:
            ends[record.type] = seq
    if "meeting.convene" not in ends or "meeting.close" not in ends:
        return []
    out = []
    for seq, data in db.session.execute(
            select(LedgerRecord.seq, LedgerRecord.data).where(
                LedgerRecord.village_id == v.id, LedgerRecord.type.in_(MEETING_RECORDS),
                LedgerRecord.seq >= ends["meeting.convene"],
                LedgerRecord.seq <= ends["meeting.close"]).order_by(LedgerRecord.seq)):
        record = parse_record(data)
        if record.body.get("meeting") == number:
            out.append((seq, {"type": record.type, **record.body}))
    return out


def minutes(v: Village, meeting: Meeting) -> pdf.Minutes:
    """The minutes from the ledger alone: the roster of ``meeting.open``, the check-ins of
    ``meeting.attend``, each poll's ``poll.open`` … ``poll.tally`` / ``poll.void``, the named
    ballots of ``ballot.cast``; secret polls' totals only. Matter titles come from the
    database (the ledger names matters by number)."""
    records = meeting_records(v, meeting.number)
    titles = dict(db.session.execute(select(Matter.number, Matter.title).where(
        Matter.village_id == v.id)).all())
    convened = opened = closed = ""
    roster: list[tuple[int, str, str]] = []
    attended: dict[int, tuple[str, str, str]] = {}
    polls: dict[int, dict[str, Any]] = {}
    for seq, body in records:
        kind = body["type"]
        if kind == "meeting.convene":
            convened = f"{_ledger_time(body['at'])}，{body['name']}"
        elif kind == "meeting.notice":
            convened += (f"；会议通知于{_ledger_time(body['at'])}发出，"
                         f"通知{body['recipients']}人（账本第{seq}号记录）")
        elif kind == "meeting.open":
            opened = f"{_ledger_time(body['at'])}，{body['name']}"
            roster = [(m["person"], m["name"], _roles_text(m["roles"]))
                      for m in body["members"]]
        elif kind == "meeting.attend":
            by = "本人" if body["person"] == body["member"] else f"{body['name']}登记"
            attended.pop(body["member"], None)  # a switch of channel: the latest counts
            attended[body["member"]] = (body["member_name"],
                                        _(CHANNEL_LABELS.get(body["channel"], body["channel"])),
                                        by)
        elif kind == "meeting.close":
            closed = f"{_ledger_time(body['at'])}，{body['name']}"
        elif kind == "poll.open":
            polls[body["poll"]] = {**body, "state": "open", "recused": [], "named": []}
        elif body.get("poll") in polls:
            poll = polls[body["poll"]]
            if kind == "poll.recuse":
                poll["recused"].append(body["member_name"])
            elif kind == "ballot.cast":
                poll["named"].append((body["member_name"], _(CHOICE_LABELS[body["choice"]]),
                                      _(CHANNEL_LABELS.get(body["channel"], body["channel"]))))
            elif kind == "poll.tally":
                poll.update(state="closed", tally=body, tally_seq=seq)
            elif kind == "poll.void":
                poll.update(state="void", void_reason=body["reason"])
    out = []
    for number, p in sorted(polls.items()):
        tally = p.get("tally")
        counts: dict[str, Any] = {}
        if tally is not None:
            counts = dict(yes=tally["yes"], no=tally["no"], abstain=tally["abstain"],
                          needed=tally["needed"], verdict=VERDICTS[tally["verdict"]],
                          not_voted=not_voted(tally["present"], tally["recused"], tally["yes"],
                                              tally["no"], tally["abstain"]),
                          tally_seq=p["tally_seq"])
        out.append(pdf.PollMinutes(
            number=number, matter=p["matter"], matter_title=titles.get(p["matter"], ""),
            mode=p["mode"], state=p["state"], present=p["present"], members=p["members"],
            rule=_(PASS_RULE_LABELS[PassRule(p["rule"])]), recused=p["recused"],
            void_reason=p.get("void_reason"),
            named=p["named"] if p["mode"] == VoteMode.NAMED else [], **counts))
    head = ledger.head(v.id)
    size = head.size if head else 0
    present = set(attended)
    return pdf.Minutes(
        head=meeting_head(v, meeting), convened=convened, opened=opened, closed=closed,
        members=[(name, roles) for _pid, name, roles in roster],
        attendance=list(attended.values()),
        absent=[name for pid, name, _roles in roster if pid not in present],
        polls=out, records=(records[0][0], records[-1][0]) if records else (0, 0),
        size=size, root=head.root.hex() if head else "",
        log_key=ledger.active_key(v.id).vkey,
        checkpoint=head.checkpoint.decode() if head else "")


# --- Step 6 ------------------------------------------------------------------------------------


def _last_closed_poll(m: Matter) -> Poll | None:
    """The matter's latest closed poll (the public board's order: by closing time, then id)."""
    return db.session.execute(
        select(Poll).where(Poll.matter_id == m.id, Poll.state == PollState.CLOSED)
        .options(selectinload(Poll.meeting))
        .order_by(Poll.closed_at.desc(), Poll.id.desc()).limit(1)).scalar_one_or_none()


def matter_head(v: Village, m: Matter) -> pdf.MatterHead:
    decided = ""
    p = _last_closed_poll(m)
    if p is not None:
        decided = (f"{VERDICTS.get(p.verdict or '', '')}（第{p.meeting.number}次村民代表会议，"
                   f"{format_time(p.closed_at)}）：同意{p.yes}票，反对{p.no}票，弃权{p.abstain}票，"
                   f"未投票{poll_not_voted(p)}人；{_(p.mode.label)}表决")
    return pdf.MatterHead(
        township=v.township.name, village=v.name, number=m.number, title=m.title,
        category=f"{m.category}. {label('category', m.category)}" if m.category else "",
        amount=f"¥ {format_yuan(m.amount_fen)}" if m.amount_fen is not None else "",
        filing_no=m.filing_no or "", summary=m.summary or "", decided=decided)


def _updates(m: Matter) -> list[ImplementationUpdate]:
    return list(db.session.execute(
        select(ImplementationUpdate).where(ImplementationUpdate.matter_id == m.id)
        .options(selectinload(ImplementationUpdate.recorded_by),
                 selectinload(ImplementationUpdate.confirmed_by))
        .order_by(ImplementationUpdate.number)).scalars())


def _step(m: Matter, action: str) -> StepRecord | None:
    return db.session.execute(
        select(StepRecord).where(StepRecord.matter_id == m.id, StepRecord.action == action)
        .options(selectinload(StepRecord.actor))
        .order_by(StepRecord.seq.desc()).limit(1)).scalar_one_or_none()


def _money(fen: int | None) -> str:
    return f"¥ {format_yuan(fen)}" if fen is not None else "（未填写）"


def implementation_report(v: Village, m: Matter) -> pdf.ImplementationReport:
    updates = _updates(m)
    started = _step(m, "start_implementation")
    spent = updates[-1].spent_fen if updates else 0
    remaining = (_money(m.amount_fen - spent) if m.amount_fen is not None else "（无计划金额）")
    return pdf.ImplementationReport(
        head=matter_head(v, m),
        started=(f"{format_time(started.acted_at)}，{started.actor.name}" if started else ""),
        updates=[(str(u.number), format_time(u.recorded_at), u.milestone
                  + (f"\n{u.note}" if u.note else ""), f"{u.progress}%",
                  format_yuan(u.spent_fen), u.recorded_by.name,
                  (f"{u.confirmed_by.name} {format_time(u.confirmed_at)[:10]}"
                   if u.confirmed_by else "待确认")) for u in updates],
        spent=_money(spent), planned=_money(m.amount_fen), remaining=remaining,
        state=label("state", m.state))


def completion_certificate(v: Village, m: Matter) -> pdf.CompletionCertificate:
    updates = _updates(m)
    done = _step(m, "complete")
    committee = [t for t in current_terms(v, utcnow())
                 if t.role in (Role.SUPERVISOR_CHAIR.value, Role.SUPERVISOR.value)]
    names = dict(db.session.execute(select(Person.id, Person.name).where(
        Person.id.in_({t.person_id for t in committee}))).all())
    return pdf.CompletionCertificate(
        head=matter_head(v, m),
        completed=format_time(done.acted_at) if done else "",
        signed_by=done.actor.name if done else "",
        report=str((done.data or {}).get("report", "")) if done else "",
        spent=_money(updates[-1].spent_fen if updates else None),
        planned=_money(m.amount_fen), updates=len(updates),
        committee=sorted({names[t.person_id] for t in committee}),
        ledger_seq=_step_seq(v, m, "complete"))


def _step_seq(v: Village, m: Matter, action: str) -> int | None:
    """The ledger seq of the matter's newest ``matter.step`` with ``action`` (newest first)."""
    for seq, data in db.session.execute(
            select(LedgerRecord.seq, LedgerRecord.data).where(
                LedgerRecord.village_id == v.id, LedgerRecord.type == "matter.step")
            .order_by(LedgerRecord.seq.desc())):
        body = parse_record(data).body
        if body.get("matter") == m.number and body.get("action") == action:
            return int(seq)
    return None
