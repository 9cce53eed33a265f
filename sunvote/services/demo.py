"""The demo township and villages: people, roles, accounts and a few matters at various steps.

Seeding goes through the same use cases as the web pages, so the demo's history is real.
Running it again adds nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from sunvote.domain.procedure import Action
from sunvote.domain.roles import Role
from sunvote.extensions import db
from sunvote.models import Account, Household, Person, Township, Village
from sunvote.models.base import utcnow
from sunvote.services import assembly, matters, suggestions
from sunvote.services.access import CHINA
from sunvote.services.roster import appoint
from sunvote.services.unit_of_work import use_case
from sunvote.services.villages import create_township, create_village

DEMO_TOWNSHIP = "demo-town"
DEMO_PASSWORD = "sunvote2026"
TERM_START = dt.date(2021, 3, 1)


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


def demo_present() -> bool:
    """Whether the demo township exists already."""
    return db.session.execute(
        select(Township.id).where(Township.code == DEMO_TOWNSHIP)).first() is not None


@use_case
def seed_demo(now: dt.datetime | None = None) -> bool:
    """Create the demo data unless it is there; returns whether anything was created."""
    if demo_present():
        return False
    now = now or utcnow()
    town = create_township(DEMO_TOWNSHIP, "阳光镇（演示）")
    sunshine = create_village(town.id, "sunshine", "阳光村", now=now)
    breeze = create_village(town.id, "breeze", "清风村", now=now)
    password = generate_password_hash(DEMO_PASSWORD)
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

    _seed_matters(sunshine, clerk, secretary, reviewer, now)
    return True


def _seed_matters(village: Village, clerk: Person, secretary: Person, reviewer: Person,
                  now: dt.datetime) -> None:
    # Everything is recorded at the real time: the ledger signs the time of each record, and a
    # demo with back-dated steps would carry misleading records.
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
