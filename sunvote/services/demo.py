"""The demo township and villages: people, roles, accounts, and matters at every step.

Seeding goes through the same use cases as the web pages, so the demo's history is real ledger
history. ``sunvote demo`` seeds eight weeks of it, with past dates, in time order; the test
suite's starting data is the small world at one moment. Only an empty database is seeded:
running it again, or on a database someone has started to use, adds nothing."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from sunvote.domain.assembly import VoteMode
from sunvote.domain.ledger.device import expected_statement
from sunvote.domain.procedure import Action
from sunvote.domain.roles import Role
from sunvote.extensions import db
from sunvote.models import Account, Household, MeetingMember, Person, Township, Village
from sunvote.models.base import utcnow
from sunvote.services import assembly, ballots, cloud, matters, polls, suggestions, supervision
from sunvote.services.access import CHINA, local_date
from sunvote.services.passwords import hash_secret
from sunvote.services.roster import appoint
from sunvote.services.unit_of_work import use_case
from sunvote.services.villages import create_township, create_village

DEMO_TOWNSHIP = "demo-town"
DEMO_PASSWORD = "sunvote2026"
TERM_START = dt.date(2021, 3, 1)
#: How long before today the demo village started using SunVote.
HISTORY_DAYS = 56
#: The PIN of the demo's enrolled phones (typed on a hall device, docs/cloud-voting.md).
DEMO_PIN = "246810"
#: The representatives (rep11–rep20) whose phones the demo enrolled four weeks ago.
ENROLLED_REPS = range(11, 21)


@dataclass(frozen=True)
class DemoAccount:
    """A demo login to print for the user."""

    username: str
    name: str
    role: str


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("clerk", "张敏", "阳光村 村务工作者 clerk"),
    DemoAccount("secretary", "王建国", "阳光村 党支部书记、村委会主任 party secretary & director"),
    DemoAccount("reviewer", "孙伟", "阳光镇 审议人员 township reviewer"),
    DemoAccount("supervisor", "刘芳", "阳光村 村务监督委员会主任 supervisory committee chair"),
    DemoAccount("rep01", "李秀英", "阳光村 村民代表 representative (rep01–rep20)"),
    DemoAccount("township", "吴静", "阳光镇 乡镇管理员 township admin"),
    DemoAccount("district", "郑平", "区级管理员 district admin"),
    DemoAccount("clerk2", "钱进", "清风村 村务工作者 clerk of another village"),
)

# 20 representatives: (name, female, households represented)
REPRESENTATIVES = [
    ("李秀英", True, 10), ("王磊", False, 9), ("陈桂兰", True, 11), ("杨勇", False, 8),
    ("黄玉梅", True, 12), ("周杰", False, 10), ("吴凤英", True, 9), ("徐明", False, 11),
    ("孙丽华", True, 10), ("马军", False, 8), ("朱红", True, 9), ("胡斌", False, 12),
    ("郭秀兰", True, 10), ("何平", False, 11), ("高翠", True, 9), ("林涛", False, 10),
    ("罗刚", False, 8), ("梁华", False, 12), ("宋伟", False, 9), ("谢芳", True, 10),
]


# Villagers without a role, who object to results and rate completed matters: (name, female)
VILLAGERS = [("王大伯", False), ("李阿姨", True), ("张桂芝", True), ("陈国庆", False),
             ("赵小燕", True), ("钱福生", False)]


def demo_present() -> bool:
    """Whether the demo township exists already."""
    return db.session.execute(
        select(Township.id).where(Township.code == DEMO_TOWNSHIP)).first() is not None


def database_empty() -> bool:
    """Whether the database holds no township, person or login: the only kind the demo seeds,
    so that a database someone has started to use is never mixed with demo data."""
    return all(db.session.execute(select(model.id).limit(1)).first() is None
               for model in (Township, Person, Account))


@dataclass(frozen=True)
class DemoPeople:
    """The demo's people that its matters and meetings need."""

    sunshine: Village
    clerk: Person
    secretary: Person
    reviewer: Person
    chair: Person
    supervisor2: Person
    villagers: tuple[Person, ...]


@use_case
def seed_demo(now: dt.datetime | None = None, *, history: bool = False) -> bool:
    """Create the demo data in an empty database; returns whether anything was created.

    Without ``history`` (the test suite's starting data) everything happens at ``now``: three
    matters and a meeting convened three days ahead. With ``history`` (the ``sunvote demo``
    command) the village has used SunVote for eight weeks before ``now``: every step of its
    history goes through the same use cases with ``now=`` a past moment, in time order, and a
    meeting convened days ago can be opened today (:func:`_seed_history`)."""
    if demo_present() or not database_empty():
        return False
    now = now or utcnow()
    start = _local(now, HISTORY_DAYS, 8) if history else now
    people = _seed_world(start, villagers=history)
    if history:
        _seed_history(people, now)
    else:
        _seed_matters(people.sunshine, people.clerk, people.secretary, people.reviewer, now)
    return True


def _seed_world(now: dt.datetime, *, villagers: bool) -> DemoPeople:
    """The township, its two villages, their people, roles and logins, at ``now`` (and, for the
    history, a few villagers without a role, who object and rate on the public board)."""
    town = create_township(DEMO_TOWNSHIP, "阳光镇（演示）")
    sunshine = create_village(town.id, "sunshine", "阳光村", now=now)
    breeze = create_village(town.id, "breeze", "清风村", now=now)
    password = hash_secret(DEMO_PASSWORD)
    counter = iter(range(1, 10_000))

    def person(name: str, village: Village | None, *, female: bool = False,
               username: str | None = None, accounting: bool = False) -> Person:
        household = None
        if village is not None:
            household = Household(village_id=village.id, number=f"{next(counter):03d}",
                                  head_name=name, group_name="第一村民小组")
            db.session.add(household)
            db.session.flush()
        p = Person(name=name, female=female, village_id=village.id if village else None,
                   household_id=household.id if household else None,
                   accounting_skill=accounting)
        db.session.add(p)
        db.session.flush()
        if username:
            db.session.add(Account(person_id=p.id, username=username, password_hash=password))
        return p

    def role(p: Person, r: Role, village: Village | None = None, **kw: object) -> None:
        appoint(p.id, r, TERM_START, village_id=village.id if village else None,
                township_id=town.id if r.scope.value == "township" else None, now=now,
                **kw)  # type: ignore[arg-type]

    clerk = person("张敏", sunshine, female=True, username="clerk")
    secretary = person("王建国", sunshine, username="secretary")
    member1 = person("陈丽", sunshine, female=True)
    member2 = person("赵强", sunshine)
    chair = person("刘芳", sunshine, female=True, username="supervisor", accounting=True)
    supervisor2 = person("周涛", sunshine)
    reviewer = person("孙伟", None, username="reviewer")
    admin = person("吴静", None, female=True, username="township")
    district = person("郑平", None, username="district")
    clerk2 = person("钱进", breeze, username="clerk2")
    secretary2 = person("冯刚", breeze)

    role(clerk, Role.CLERK, sunshine)
    role(secretary, Role.PARTY_SECRETARY, sunshine)
    role(secretary, Role.COMMITTEE_DIRECTOR, sunshine)
    role(member1, Role.COMMITTEE_MEMBER, sunshine)
    role(member2, Role.COMMITTEE_MEMBER, sunshine)
    role(member1, Role.PARTY_BRANCH_MEMBER, sunshine)
    role(chair, Role.SUPERVISOR_CHAIR, sunshine)
    role(supervisor2, Role.SUPERVISOR, sunshine)
    role(reviewer, Role.TOWNSHIP_REVIEWER)
    role(admin, Role.TOWNSHIP_ADMIN)
    role(district, Role.DISTRICT_ADMIN)
    role(clerk2, Role.CLERK, breeze)
    role(secretary2, Role.PARTY_SECRETARY, breeze)
    for i, (name, female, households) in enumerate(REPRESENTATIVES, start=1):
        rep = person(name, sunshine, female=female, username=f"rep{i:02d}")
        role(rep, Role.REPRESENTATIVE, sunshine, households_represented=households,
             group_name=f"第{(i - 1) // 5 + 1}村民小组")

    plain = tuple(person(name, sunshine, female=female) for name, female in VILLAGERS
                  if villagers)
    return DemoPeople(sunshine, clerk, secretary, reviewer, chair, supervisor2, plain)


def _seed_matters(village: Village, clerk: Person, secretary: Person, reviewer: Person,
                  now: dt.datetime) -> None:
    # The test suite's starting data: everything at ``now``, the meeting three days ahead.
    road = suggestions.record_suggestion(
        village.id, clerk.id, "paper", "村东头到小学那段路一下雨就是泥，孩子上学不方便，建议硬化。",
        "王大伯", False, now=now)
    m1 = matters.open_matter(village.id, clerk.id, {
        "title": "村东道路硬化工程", "text": "村民建议硬化村东至小学道路约800米。"},
        suggestion_ids=[road.id], now=now)
    matters.act(m1.id, Action.PROPOSE, secretary.id, {
        "category": 2, "title": "村东道路硬化工程",
        "summary": "硬化村东至阳光小学道路800米，宽4.5米，采用公开招标方式确定施工单位。",
        "amount_fen": 48_000_000}, now=now)
    matters.act(m1.id, Action.DISCUSS, clerk.id, {
        "meeting_date": now.date().isoformat(), "expected": 9, "present": 8,
        "minutes": "联席会议讨论了道路走向和资金来源，同意提交乡镇审议。",
        "plan": "硬化村东至阳光小学道路800米，宽4.5米；资金由上级补助和村集体收入解决；公开招标。"},
        now=now)
    matters.act(m1.id, Action.FILE, reviewer.id, {"filing_no": "阳光镇备〔2026〕17号"}, now=now)

    forest = suggestions.record_suggestion(
        village.id, clerk.id, "box", "后山集体林地承包到期，建议重新公开发包。", None, True,
        now=now)
    m2 = matters.open_matter(village.id, clerk.id, {
        "title": "后山集体林地重新发包", "text": "集体林地承包合同到期，建议重新公开发包。"},
        suggestion_ids=[forest.id], now=now)
    matters.act(m2.id, Action.PROPOSE, secretary.id, {
        "category": 6, "title": "后山集体林地重新发包",
        "summary": "后山集体林地320亩，承包期10年，公开竞价发包，底价每亩每年60元。",
        "amount_fen": 19_200_000}, now=now)

    matters.open_matter(village.id, clerk.id, {
        "title": "文化礼堂修缮", "text": "文化礼堂屋顶漏水，建议修缮。"}, now=now)

    suggestions.record_suggestion(village.id, clerk.id, "paper",
                                  "建议在村口安装路灯，晚上出行不安全。", "李阿姨", False,
                                  now=now)
    # The filed road matter goes to an assembly meeting, convened with the notice the township
    # asks for (3 days): it can be opened on that day.
    notice = dt.timedelta(days=3)
    starts = (now + notice).astimezone(CHINA).replace(hour=9, minute=0, second=0, microsecond=0)
    if starts - now < notice:
        starts += dt.timedelta(days=1)
    assembly.convene(clerk.id, village.id, "2026年第四季度村民代表会议", "村委会二楼会议室",
                     starts.astimezone(dt.UTC), [m1.id], now=now)
    suggestions.record_suggestion(village.id, clerk.id, "box",
                                  "建议公开村集体资产出租收入明细。", None, True, now=now)


# --- Eight weeks of history (sunvote demo) -----------------------------------------------------


def _local(now: dt.datetime, days_ago: int, hour: int, minute: int = 0) -> dt.datetime:
    """``hour:minute`` China time, ``days_ago`` days before ``now``'s local date, in UTC."""
    day = local_date(now) - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=CHINA).astimezone(dt.UTC)


def _meeting_start_today(now: dt.datetime) -> dt.datetime:
    """Today's meeting: 19:00 China time, or the next five minutes if that has passed."""
    evening = _local(now, 0, 19)
    if now < evening:
        return evening
    soon = (now + dt.timedelta(minutes=5)).replace(second=0, microsecond=0)
    last = _local(now, 0, 23, 55)
    return min(soon, last) if soon.astimezone(CHINA).date() == local_date(now) else last


#: One event of the history: runs at the moment given; returns when it ended if it took time.
Event = Callable[[dt.datetime], "dt.datetime | None"]


class _Timeline:
    """The history as events in time order. Each matter's story is written on its own; the
    events run sorted by time, so that the village log's records are in time order whatever
    order the stories were written in. An event that takes several minutes (a meeting) moves
    its own clock forward with :meth:`tick`."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.events: list[tuple[dt.datetime, int, Event]] = []
        self.ids: dict[str, int] = {}

    def at(self, days_ago: int, hour: int, minute: int = 0) -> Callable[[Event], Event]:
        """Register the decorated event for ``hour:minute`` local time, ``days_ago`` days ago."""
        when = _local(self.now, days_ago, hour, minute)
        if when >= self.now:
            raise ValueError("the demo's history must happen before now")

        def register(fn: Event) -> Event:
            self.events.append((when, len(self.events), fn))
            return fn
        return register

    def run(self) -> None:
        """Run the events in time order (two at the same moment: in the order written)."""
        busy_until = None
        for when, _order, fn in sorted(self.events, key=lambda e: (e[0], e[1])):
            if busy_until is not None and when < busy_until:  # a meeting ran past it
                raise ValueError(f"the demo's events overlap at {when.isoformat()}")
            busy_until = fn(when) or when


def _seed_history(p: DemoPeople, now: dt.datetime) -> None:
    """Eight weeks of 阳光村: matters at every step, four past meetings (named and secret
    polls), objections answered, implementation with confirmed progress, a signed-off matter
    with ratings, enrolled phones, and a meeting convened five days ago that opens today."""
    village, clerk, secretary = p.sunshine.id, p.clerk.id, p.secretary.id
    reviewer, chair, supervisor2 = p.reviewer.id, p.chair.id, p.supervisor2.id
    t = _Timeline(now)
    ids = t.ids
    households = {v.name: (v.household.number, v.name) for v in p.villagers if v.household}
    addresses = iter(f"192.0.2.{n}" for n in range(1, 255))  # documentation addresses

    def story(key: str, days: Sequence[int], *, title: str, text: str, category: int,
              summary: str, yuan: int, filing_no: str | None = None,
              suggestion: tuple[str, str | None, str] | None = None,
              returned: str | None = None) -> None:
        """A matter's first four steps on the given days before today (open, propose,
        discuss, file or return); fewer days stop it earlier."""
        steps = list(days)

        @t.at(steps[0], 9, 30)
        def _open(when: dt.datetime) -> None:
            found = []
            if suggestion is not None:
                channel, name, words = suggestion
                found.append(suggestions.record_suggestion(
                    village, clerk, channel, words, name, False, now=when).id)
            ids[key] = matters.open_matter(village, clerk, {"title": title, "text": text},
                                           suggestion_ids=found, now=when).id

        if len(steps) > 1:
            @t.at(steps[1], 10, 15)
            def _propose(when: dt.datetime) -> None:
                matters.act(ids[key], Action.PROPOSE, secretary, {
                    "category": category, "title": title, "summary": summary,
                    "amount_fen": yuan * 100}, now=when)
        if len(steps) > 2:
            @t.at(steps[2], 15, 0)
            def _discuss(when: dt.datetime) -> None:
                matters.act(ids[key], Action.DISCUSS, clerk, {
                    "meeting_date": local_date(when).isoformat(), "expected": 9, "present": 8,
                    "minutes": f"联席会议讨论了“{title}”的方案和资金来源，同意提交乡镇审议。",
                    "plan": summary}, now=when)
        if len(steps) > 3:
            @t.at(steps[3], 10, 0)
            def _review(when: dt.datetime) -> None:
                if returned is not None:
                    matters.act(ids[key], Action.RETURN, reviewer, {"reason": returned},
                                now=when)
                else:
                    matters.act(ids[key], Action.FILE, reviewer, {"filing_no": filing_no},
                                now=when)

    def meeting(days_convened: int, days_ahead: int, title: str, agenda: list[tuple[str, str]],
                present: int, choices: dict[str, list[str]]) -> None:
        """Convene a meeting, then hold it ``days_ahead`` later at 19:00: the clerk opens it and
        checks in the first ``present`` members; one poll per agenda matter (key, mode), each
        member present voting from their own login; the meeting closes."""

        @t.at(days_convened, 9, 0)
        def _convene(when: dt.datetime) -> None:
            starts = _local(now, days_convened - days_ahead, 19)
            ids[title] = assembly.convene(clerk, village, title, "村委会二楼会议室", starts,
                                          [ids[key] for key, _mode in agenda], now=when).id

        @t.at(days_convened - days_ahead, 19, 0)
        def _hold(when: dt.datetime) -> dt.datetime:
            clock = iter(when + dt.timedelta(minutes=n) for n in range(0, 600))
            meeting_id = ids[title]
            assembly.open_meeting(clerk, meeting_id, now=next(clock))
            roster = _members(meeting_id)
            moment = next(clock)
            for member in roster[:present]:
                assembly.check_in(clerk, meeting_id, member, now=moment)
            for key, mode in agenda:
                poll = polls.open_poll(clerk, meeting_id, ids[key], VoteMode(mode),
                                       now=next(clock))
                moment = next(clock)
                for member, choice in zip(roster[:present], choices[key], strict=True):
                    ballots.cast_ballot(member, poll.id, member, choice, now=moment)
                polls.close_poll(clerk, poll.id, now=next(clock))
            end = next(clock)
            assembly.close_meeting(clerk, meeting_id, now=end)
            return end

    def objection(key: str, days_ago: int, who: str, words: str,
                  answer: tuple[int, str] | None) -> None:
        @t.at(days_ago, 20, 10)
        def _file(when: dt.datetime) -> None:
            number, name = households[who]
            ids[f"{key}/objection/{who}"] = supervision.file_objection(
                ids[key], number, name, words, next(addresses), now=when).id

        if answer is not None:
            days, reply = answer

            @t.at(days, 10, 30)
            def _reply(when: dt.datetime) -> None:
                supervision.reply_objection(chair, ids[f"{key}/objection/{who}"], "dismissed",
                                            reply, now=when)

    def start(key: str, days_ago: int) -> None:
        @t.at(days_ago, 9, 0)
        def _start(when: dt.datetime) -> None:
            matters.act(ids[key], Action.START_IMPLEMENTATION, clerk, {}, now=when)

    def progress(key: str, recorded: int, confirmed: int, milestone: str, percent: int,
                 spent_yuan: int, note: str) -> None:
        @t.at(recorded, 16, 0)
        def _record(when: dt.datetime) -> None:
            ids[f"{key}/update/{milestone}"] = supervision.record_update(
                clerk, ids[key], milestone, percent, str(spent_yuan), note, now=when).id

        @t.at(confirmed, 10, 0)
        def _confirm(when: dt.datetime) -> None:
            supervision.confirm_update(supervisor2, ids[f"{key}/update/{milestone}"], now=when)

    yes, no, abstain = "yes", "no", "abstain"

    # The school wall: voted eight weeks in, implemented, signed off, rated.
    story("wall", [54, 53, 51, 49], title="阳光小学围墙维修", category=2,
          text="小学围墙年久开裂，存在倒塌隐患，建议尽快维修。",
          summary="拆除并重建阳光小学东侧、北侧围墙共160米，砖混结构，高2.2米；村集体出资。",
          yuan=86_000, filing_no="阳光镇备〔2026〕09号",
          suggestion=("paper", "张桂芝", "小学围墙裂了好几道缝，孩子们每天从旁边走，太危险。"))
    # The warehouse lease: refused by a secret vote at the same meeting.
    story("warehouse", [52, 52, 51, 49], title="村集体仓库出租", category=9,
          text="村集体闲置仓库拟出租给外来企业。",
          summary="村集体闲置仓库600平方米出租给外来物流企业，租期15年，年租金3万元。",
          yuan=450_000, filing_no="阳光镇备〔2026〕10号")
    meeting(47, 4, "2026年第一次村民代表会议", [("wall", "named"), ("warehouse", "secret")],
            21, {"wall": [yes] * 18 + [no, abstain, yes],
                 "warehouse": [yes] * 5 + [no] * 14 + [abstain] * 2})
    start("wall", 37)
    progress("wall", 33, 32, "拆除旧墙、完成地基", 40, 31_500, "旧墙已拆除，地基浇筑完成。")
    progress("wall", 26, 25, "围墙砌筑完工", 100, 84_600, "围墙砌筑、抹灰完成，结余1400元。")

    @t.at(24, 10, 0)
    def _sign_off_wall(when: dt.datetime) -> None:
        matters.act(ids["wall"], Action.COMPLETE, chair, {
            "report": "监委会现场验收：围墙长度、高度与方案一致，质量合格，"
                      "实际支出84600元，未超预算。"}, now=when)

    for n, (who, score) in enumerate([("张桂芝", 5), ("王大伯", 4), ("李阿姨", 5),
                                      ("陈国庆", 3)]):
        @t.at(23 - n, 20, 30)
        def _rate(when: dt.datetime, who: str = who, score: int = score) -> None:
            number, name = households[who]
            supervision.rate(ids["wall"], number, name, score, next(addresses), now=when)

    # The solar investment: withdrawn by the party branch before the joint meeting.
    story("solar", [34, 33], title="入股乡镇光伏发电项目", category=6,
          text="乡镇推介光伏发电项目，建议村集体入股。",
          summary="村集体以30万元入股乡镇光伏发电项目，按年分红。", yuan=300_000)

    @t.at(32, 11, 0)
    def _withdraw(when: dt.datetime) -> None:
        matters.act(ids["solar"], Action.WITHDRAW, secretary, {
            "reason": "项目收益测算不清，待乡镇公布详细方案后再议。"}, now=when)

    # Four weeks ago the clerk enrolled ten representatives' phones (rep11–rep20).
    @t.at(30, 14, 0)
    def _enrol(when: dt.datetime) -> None:
        for offset, number in enumerate(ENROLLED_REPS):
            member = _account_person(f"rep{number:02d}")
            _enrol_phone(clerk, village, member, when + dt.timedelta(minutes=offset))

    # The street lights: in implementation, its progress confirmed: ready for sign-off.
    story("lights", [36, 35, 33, 31], title="村口至村委会路段安装路灯", category=2,
          text="村口到村委会一段路没有路灯，晚上出行不安全。",
          summary="安装太阳能路灯40盏，间距30米，覆盖村口至村委会1.2公里路段；公开询价采购。",
          yuan=120_000, filing_no="阳光镇备〔2026〕14号",
          suggestion=("box", "李阿姨", "建议在村口安装路灯，晚上出行不安全。"))
    meeting(28, 4, "2026年第二次村民代表会议", [("lights", "named")], 20,
            {"lights": [yes] * 17 + [no, abstain, yes]})
    objection("lights", 22, "钱福生", "路灯间距太大，巷子里照不到。",
              (21, "经现场测量，30米间距可满足主路照明；巷道照明另行提议。"))
    start("lights", 18)
    progress("lights", 12, 11, "灯杆基础及线路完成", 40, 45_000, "40个灯杆基础已浇筑。")
    progress("lights", 4, 3, "路灯全部安装调试", 100, 116_800, "40盏路灯已全部点亮，附验收照片。")

    # The fitness equipment: passed, notice over, both objections answered: ready to start.
    story("fitness", [27, 26, 24, 22], title="村民广场健身器材采购", category=2,
          text="村民广场缺少健身器材，老人和孩子没有活动的地方。",
          summary="为村民广场采购健身器材12件、铺设塑胶地面200平方米；政府采购平台询价。",
          yuan=68_000, filing_no="阳光镇备〔2026〕16号")
    meeting(21, 5, "2026年第三次村民代表会议", [("fitness", "named")], 22,
            {"fitness": [yes] * 19 + [no, no, abstain]})
    objection("fitness", 14, "王大伯", "器材是否有质量认证？",
              (12, "采购要求中已写明须有国家体育用品质量认证，验收时核对。"))
    objection("fitness", 13, "赵小燕", "塑胶地面有没有气味，对孩子有没有影响？",
              (12, "采购要求中已写明环保标准，铺设后通风7天再开放。"))

    # The river bank: passed two days ago, its notice period runs, one objection unanswered.
    story("riverbank", [20, 19, 17, 15], title="村南河道护岸修复", category=2,
          text="村南河道护岸被冲毁一段，汛期前需修复。",
          summary="修复村南河道护岸180米，浆砌石结构；申请上级水利补助，不足部分村集体承担。",
          yuan=210_000, filing_no="阳光镇备〔2026〕19号")
    meeting(6, 4, "2026年第四次村民代表会议", [("riverbank", "named")], 19,
            {"riverbank": [yes] * 16 + [no, abstain, yes]})
    objection("riverbank", 1, "陈国庆", "施工期间能不能留一条过河的路？", None)

    # The clinic: returned by the township, back with the joint meeting.
    story("clinic", [15, 14, 10, 7], title="村卫生室扩建", category=2,
          text="村卫生室面积太小，建议扩建。",
          summary="村卫生室扩建60平方米，新增观察室和药房。", yuan=150_000,
          returned="预算缺少设备购置明细，用地是否符合村庄规划未说明，请补充后重新提交。")
    # Today's agenda: the road (named poll) and the forest lease (secret poll).
    story("road", [12, 10, 8, 6], title="村东道路硬化工程", category=2,
          text="村民建议硬化村东至小学道路约800米。",
          summary="硬化村东至阳光小学道路800米，宽4.5米；资金由上级补助和村集体收入解决；公开招标。",
          yuan=480_000, filing_no="阳光镇备〔2026〕21号",
          suggestion=("paper", "王大伯",
                      "村东头到小学那段路一下雨就是泥，孩子上学不方便，建议硬化。"))
    story("forest", [11, 10, 8, 6], title="后山集体林地重新发包", category=6,
          text="集体林地承包合同到期，建议重新公开发包。",
          summary="后山集体林地320亩，承包期10年，公开竞价发包，底价每亩每年60元。",
          yuan=192_000, filing_no="阳光镇备〔2026〕22号",
          suggestion=("box", None, "后山集体林地承包到期，建议重新公开发包。"))

    @t.at(5, 9, 0)
    def _convene_today(when: dt.datetime) -> None:
        assembly.convene(clerk, village, "2026年第五次村民代表会议", "村委会二楼会议室",
                         _meeting_start_today(now), [ids["road"], ids["forest"]], now=when)

    # The earlier steps: discussed (awaits the township), proposed, suggested, suggestions.
    story("hall", [9, 7, 3], title="文化礼堂修缮", category=2, text="文化礼堂屋顶漏水，建议修缮。",
          summary="文化礼堂屋顶翻修、外墙粉刷，面积420平方米。", yuan=95_000)
    story("canal", [5, 2], title="农田灌溉渠清淤", category=4,
          text="南片农田灌溉渠淤积严重，建议用集体收益清淤。",
          summary="使用村集体经营收益清淤南片灌溉渠2.5公里。", yuan=36_000)
    story("eldercare", [1], title="建设村级养老服务站", category=1,
          text="村里老人多，建议建设养老服务站，提供午餐和活动场所。",
          suggestion=("paper", "张桂芝", "村里老人多，建议建一个养老服务站，中午能吃上热饭。"),
          summary="", yuan=0)

    @t.at(2, 16, 0)
    def _suggestions(when: dt.datetime) -> None:
        suggestions.record_suggestion(village, clerk, "box", "建议公开村集体资产出租收入明细。",
                                      None, True, now=when)
        suggestions.record_suggestion(village, clerk, "paper",
                                      "建议在村委会设置快递代收点。", "赵小燕", False,
                                      now=when + dt.timedelta(minutes=5))

    t.run()


def _members(meeting_id: int) -> list[int]:
    return list(db.session.execute(select(MeetingMember.person_id).where(
        MeetingMember.meeting_id == meeting_id).order_by(MeetingMember.person_id)).scalars())


def _account_person(username: str) -> int:
    return db.session.execute(select(Account.person_id).where(
        Account.username == username)).scalar_one()


def _enrol_phone(clerk: int, village: int, member: int, when: dt.datetime) -> None:
    """Enrol a phone for ``member`` through the enrolment use cases, as the clerk's QR and the
    phone's page do: a real Ed25519 key pair, made here and signing the enrolment statement
    exactly as static/js/cloud.js does. Its private key is then dropped: these phones exist in
    the register and the ledger (and their PIN works on a hall device), but no one can vote
    with them from afar; a real phone enrols itself (README)."""
    row, token = cloud.issue_enrolment(clerk, village, member, now=when)
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    key_text = "ed25519:" + base64.b64encode(raw).decode()
    statement = expected_statement("enrol", cloud.origin(db.session.get_one(Village, village)),
                                   member=member,
                                   key=key_text, challenge=row.challenge)
    proof = cloud.Proof(key_text, statement,
                        base64.b64encode(key.sign(statement.encode())).decode())
    cloud.enrol_device(cloud.Seen(), token, proof, DEMO_PIN, now=when)
