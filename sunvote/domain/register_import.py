"""Planning a register import: each row of a villagers' file checked against the register, and
what would be created, changed, left alone or refused, decided before anything is written."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sunvote.domain.errors import N_, DomainError, InvalidField, InvalidInput, Msg, MsgList
from sunvote.domain.notices import sms_number_refusal
from sunvote.domain.text import clean_text

FILE_RULE = "import.file"
ROW_RULE = "import.row"
ID_RULE = "person.id_number"
IDENTITY_RULE = "import.identity"
HOUSEHOLD_RULE = "import.household"
TERM_RULE = "import.rep_term"
HOUSEHOLDS_RULE = "roster.households_per_representative"

#: The most households one representative may represent (组织法 art. 25: one per 5–15 households).
MAX_HOUSEHOLDS_PER_REPRESENTATIVE = 15

#: The value of 与户主关系 that marks the head of the household.
HEAD = "户主"


# --- the file template --------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """One column of the import template. ``header`` is the exact Chinese header text (and a
    message id, so it can name the column in English too); ``help`` says what may be filled in."""

    key: str
    header: str
    required: bool
    example: str
    help: str


COLUMNS: tuple[Column, ...] = (
    Column("household", N_("户号"), True, "0101",
           N_("本户的户号，同一户的人填写相同户号；户号以0开头时请把该列设为文本格式")),
    Column("relation", N_("与户主关系"), False, HEAD,
           N_("户主本人填“户主”，新户必须有一行户主；其他人填妻子、长子等，也可留空")),
    Column("name", N_("姓名"), True, "张建国",
           N_("本人姓名，最多60个字；没有身份证号时按户号和姓名识别本人")),
    Column("sex", N_("性别"), True, "男", N_("填“男”或“女”")),
    Column("id_number", N_("身份证号"), False, "331102197503151239",
           N_("18位居民身份证号码，末位可为X，可留空；填写后按身份证号识别本人。"
              "请把该列设为文本格式，以免Excel把号码改成科学计数法")),
    Column("phone", N_("手机号"), False, "13900000001",
           N_("11位手机号码，可留空；留空时不改变已登记的号码")),
    Column("party_member", N_("党员"), False, "是", N_("填“是”或“否”，留空视为“否”")),
    Column("group", N_("村民小组"), False, "第一村民小组",
           N_("本户所属村民小组，在户主一行填写，最多60个字；留空时不改变已登记的内容")),
    Column("address", N_("住址"), False, "阳光村1号",
           N_("本户住址，在户主一行填写，最多200个字；留空时不改变已登记的内容")),
    Column("representative", N_("村民代表"), False, "是",
           N_("填“是”登记一个代表任期；填“否”或留空不登记。填“否”不会撤销已登记的代表，"
              "撤销或修改任期请在名册中办理")),
    Column("households_represented", N_("联系户数"), False, "10",
           N_("村民代表联系的户数，正整数，最多15户，可留空")),
    Column("rep_starts_on", N_("代表任期开始"), False, "2026-01-01",
           N_("村民代表为“是”时必填，日期格式如2026-01-05")),
    Column("rep_ends_on", N_("代表任期结束"), False, "2030-12-31",
           N_("可留空，不能早于任期开始日期，日期格式如2030-12-31")),
    # Added later (issue 18), so last: older files without it still read the same.
    Column("email", N_("电子邮箱"), False, "zhang@example.cn",
           N_("电子邮箱地址，可留空；留空时不改变已登记的地址。乡镇开启邮件通知时，通知也发到这里")),
)

#: The column of each key.
COLUMN_BY_KEY: dict[str, Column] = {c.key: c for c in COLUMNS}

#: Two example rows for the template, keyed by column key: a household head who is a
#: representative, and a family member.
EXAMPLE_ROWS: tuple[Mapping[str, str], ...] = (
    {c.key: c.example for c in COLUMNS},
    {"household": "0101", "relation": "妻子", "name": "李秀英", "sex": "女",
     "id_number": "331102197808202463", "phone": "", "email": "", "party_member": "否",
     "group": "",
     "address": "", "representative": "否", "households_represented": "",
     "rep_starts_on": "", "rep_ends_on": ""},
)


def _header(key: str) -> str:
    return COLUMN_BY_KEY[key].header


def check_headers(headers: Sequence[str]) -> tuple[RowProblem, ...]:
    """Check a file's header row (already trimmed). Refuses a file that lacks a required column
    or repeats a template column; returns a note naming the columns that will be ignored."""
    known = {c.header for c in COLUMNS}
    given = [h for h in headers if h]
    for column in COLUMNS:
        if given.count(column.header) > 1:
            raise InvalidInput(FILE_RULE, N_("列名“%(name)s”重复，请只保留一列"),
                               name=Msg(column.header))
    missing = [c.header for c in COLUMNS if c.required and c.header not in given]
    if missing:
        raise InvalidInput(FILE_RULE, N_("文件缺少必填列：%(columns)s"),
                           columns=MsgList(missing))
    unknown = [h for h in given if h not in known]
    if unknown:
        return (RowProblem(FILE_RULE, N_("以下列不在模板中，已忽略：%(columns)s"),
                           {"columns": "、".join(unknown)}),)
    return ()


# --- the register as it is ----------------------------------------------------------------------

@dataclass(frozen=True)
class ExistingHousehold:
    """A household already registered in the village."""

    id: int
    number: str
    head_name: str
    group_name: str | None
    address: str | None


@dataclass(frozen=True)
class ExistingPerson:
    """A person already registered in the village."""

    id: int
    household_number: str | None
    name: str
    female: bool
    id_number: str | None
    phone: str | None
    party_member: bool
    email: str | None = None


@dataclass(frozen=True)
class ExistingTerm:
    """A representative term already registered (``ends_on`` inclusive, None = open-ended)."""

    person_id: int
    starts_on: dt.date
    ends_on: dt.date | None
    households_represented: int | None


@dataclass(frozen=True)
class Register:
    """A snapshot of the village's register: households by number, people, representative
    terms by person id, and the ID numbers registered to people of other villages."""

    households: Mapping[str, ExistingHousehold]
    people: Sequence[ExistingPerson]
    rep_terms: Mapping[int, Sequence[ExistingTerm]]
    foreign_id_numbers: frozenset[str]


# --- the plan -----------------------------------------------------------------------------------

class RowStatus(StrEnum):
    """What applying the plan does with a row (and, for CREATE and CHANGE, with a household)."""

    CREATE = "create"
    CHANGE = "change"
    UNCHANGED = "unchanged"
    REJECT = "reject"


@dataclass(frozen=True)
class RowProblem:
    """Why a row (or, as a file-level note, the file) is not taken as it is: a rule code from
    :data:`sunvote.domain.rules.RULES`, a Chinese message id and its parameters."""

    rule: str
    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class PersonData:
    """A person as they will be after the import (stored values kept where the file is empty)."""

    name: str
    female: bool
    id_number: str | None
    phone: str | None
    party_member: bool
    email: str | None = None


@dataclass(frozen=True)
class HouseholdData:
    """A household as it will be after the import (stored values kept where the file is empty)."""

    number: str
    head_name: str
    group_name: str | None
    address: str | None


@dataclass(frozen=True)
class RepTerm:
    """A representative term to register."""

    starts_on: dt.date
    ends_on: dt.date | None
    households_represented: int | None


@dataclass(frozen=True)
class PlannedRow:
    """The decision for one row of the file.

    ``line`` is the row number the clerk sees in Excel (the header is row 1). For an accepted row,
    ``person`` is the person's data after the import and ``person_id`` the existing person (None
    for a new one); ``changes`` lists the labels (message ids) of what changes; ``household_action``
    says whether the row's household is created or changed (with ``household_data``), and
    ``representative`` is a term to register. A rejected row has ``problems`` and nothing else.
    ``warnings`` are flags that do not stop the row (a phone number no SMS can reach).
    """

    line: int
    name: str
    household: str
    status: RowStatus
    problems: tuple[RowProblem, ...] = ()
    person: PersonData | None = None
    person_id: int | None = None
    relation: str | None = None
    changes: tuple[str, ...] = ()
    household_action: RowStatus | None = None
    household_data: HouseholdData | None = None
    representative: RepTerm | None = None
    warnings: tuple[RowProblem, ...] = ()


@dataclass(frozen=True)
class ImportPlan:
    """What an import would do, row by row, in file order. To apply it: create and change the
    households first (family rows may come before their head's row), then the people, then the
    representative terms. Rejected rows are not applied."""

    rows: tuple[PlannedRow, ...]
    notes: tuple[RowProblem, ...]
    counts: Mapping[str, int]

    @property
    def accepted(self) -> tuple[PlannedRow, ...]:
        """The rows that would be applied (created, changed or unchanged)."""
        return tuple(r for r in self.rows if r.status is not RowStatus.REJECT)

    @property
    def rejected(self) -> tuple[PlannedRow, ...]:
        """The rows refused, each with its problems."""
        return tuple(r for r in self.rows if r.status is RowStatus.REJECT)

    @property
    def has_changes(self) -> bool:
        """Whether applying the plan would write anything."""
        return any(r.status in (RowStatus.CREATE, RowStatus.CHANGE) for r in self.rows)


# --- cell values --------------------------------------------------------------------------------

_ID_WEIGHTS = tuple(2 ** (17 - i) % 11 for i in range(17))
_ID_CHECK_DIGITS = "10X98765432"
_ID_PATTERN = re.compile(r"[0-9]{17}[0-9X]")
_PHONE_PATTERN = re.compile(r"1[0-9]{10}")
#: An e-mail address as the clerk types it: no spaces, one @, a dotted domain.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL_PATTERN = re.compile(rf"[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+")
#: The longest e-mail address kept (the person's column).
MAX_EMAIL = 120
_DATE_PATTERNS = (
    re.compile(r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})"),
    re.compile(r"([0-9]{4})(年)([0-9]{1,2})月([0-9]{1,2})日"),
)
#: How Excel writes a long number it holds as a float, e.g. 3.31102E+17: the digits are lost.
_EXCEL_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?[eE]\+[0-9]+")
_YES_NO = {"是": True, "1": True, "否": False, "0": False, "": False}


def normalise_id_number(text: str, *, today: dt.date | None = None) -> str:
    """The resident ID number in ``text``, with an upper-case check character. Refuses
    (``InvalidField``) anything but 17 digits and a check character, with a real birth date
    (positions 7–14; not after ``today`` when given) and the right ISO 7064 MOD 11-2 check
    character (GB 11643-1999)."""
    number = text.strip().upper()
    if _ID_PATTERN.fullmatch(number):
        try:
            born: dt.date | None = dt.date(int(number[6:10]), int(number[10:12]),
                                           int(number[12:14]))
        except ValueError:
            born = None
        total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
        if born is not None and (today is None or born <= today) \
                and number[17] == _ID_CHECK_DIGITS[total % 11]:
            return number
    raise InvalidField(ID_RULE, N_("身份证号格式或校验位不正确"))


def normalise_phone(text: str) -> str:
    """The 11-digit mainland mobile number in ``text``, with spaces, hyphens and a leading +86
    removed. Refuses (``InvalidField``) anything else."""
    number = re.sub(r"[\s-]", "", text)
    if number.startswith("+86"):
        number = number[3:]
    if not _PHONE_PATTERN.fullmatch(number):
        raise InvalidField("input.invalid", N_("手机号须为11位手机号码"))
    return number


def normalise_email(text: str) -> str:
    """The e-mail address in ``text`` (trimmed, its domain in lower case). Refuses
    (``InvalidField``) anything that is not one address of at most 120 characters."""
    address = text.strip()
    if len(address) > MAX_EMAIL or not _EMAIL_PATTERN.fullmatch(address):
        raise InvalidField("input.invalid", N_("电子邮箱格式不正确，例如zhang@example.cn"))
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def parse_date(text: str) -> dt.date | None:
    """The date in ``text`` written as 2026-01-05, 2026/1/5, 2026.1.5 or 2026年1月5日, or None."""
    text = text.strip()
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            try:
                return dt.date(int(match[1]), int(match[3]), int(match[4]))
            except ValueError:
                return None
    return None


# --- planning -----------------------------------------------------------------------------------

@dataclass
class _Row:
    """A row being planned: the values read from its cells, and what has been decided so far."""

    line: int
    raw_name: str
    raw_household: str
    problems: list[RowProblem] = field(default_factory=list)
    household: str | None = None
    relation: str | None = None
    name: str | None = None
    female: bool | None = None
    id_number: str | None = None
    phone: str | None = None
    email: str | None = None
    party_member: bool = False
    group: str | None = None
    address: str | None = None
    representative: bool = False
    households_represented: int | None = None
    rep_starts_on: dt.date | None = None
    rep_ends_on: dt.date | None = None
    existing: ExistingPerson | None = None
    term: RepTerm | None = None
    household_action: RowStatus | None = None
    household_data: HouseholdData | None = None
    household_changes: tuple[str, ...] = ()

    @property
    def is_head(self) -> bool:
        return self.relation == HEAD

    def refuse(self, rule: str, msgid: str, **params: object) -> None:
        self.problems.append(RowProblem(rule, msgid, params))


def plan_import(rows: Iterable[tuple[int, Mapping[str, str]]], register: Register,
                today: dt.date, *, headers: Sequence[str] | None = None) -> ImportPlan:
    """Plan importing ``rows`` (line number and header → cell text, as read from the file) into
    ``register``. Nothing is written. ``headers`` (the file's header row) defaults to the headers
    the rows carry; they are checked with :func:`check_headers`, which may refuse the file.

    Rows are checked cell by cell first, then against each other and the register (who each row
    is, representative terms), then by household, so a family is refused with its refused head.
    Rows whose cells are all empty are skipped.
    """
    cells_by_line = [(line, cells) for line, cells in rows
                     if any(value.strip() for value in cells.values())]
    if headers is None:
        headers = list(dict.fromkeys(h for _, cells in cells_by_line for h in cells))
    notes = list(check_headers(headers)) if headers else []
    if not cells_by_line:
        notes.append(RowProblem(FILE_RULE, N_("文件中没有需要导入的数据行")))
    work = [_read_row(line, cells, today) for line, cells in cells_by_line]
    _refuse_duplicates(work)
    _identify(work, register)
    _plan_households(work, register)
    planned = tuple(_planned(row) for row in work)
    counts = {status.value: 0 for status in RowStatus}
    for row in planned:
        counts[row.status.value] += 1
    return ImportPlan(planned, tuple(notes), counts)


class _Cells:
    """Reads the cells of one row, recording each problem on the row; a refused cell reads as
    None, so a cell is refused at most once."""

    def __init__(self, row: _Row, cells: Mapping[str, str]) -> None:
        self.row = row
        self.cells = cells
        self.formulas = {c.key for c in COLUMNS if self.raw(c.key).startswith("=")}
        for column in COLUMNS:
            if column.key in self.formulas:
                row.refuse(ROW_RULE, N_("%(field)s列含有公式，系统不会计算，请直接填写内容"),
                           field=Msg(column.header))

    def raw(self, key: str) -> str:
        return self.cells.get(_header(key), "").strip()

    def text(self, key: str, max_length: int, *, required: bool = False) -> str | None:
        """Cleaned text (see :func:`clean_text`), None when empty or refused."""
        if key in self.formulas:
            return None
        value = self.raw(key)
        if _EXCEL_NUMBER.fullmatch(value):
            self.row.refuse(ROW_RULE,
                            N_("%(field)s被Excel存成了数字，请把该列设为文本格式后重新填写"),
                            field=Msg(_header(key)))
            return None
        try:
            return clean_text(value, _header(key), max_length=max_length, required=required)
        except DomainError as refusal:
            self.row.problems.append(RowProblem(ROW_RULE, refusal.msgid, refusal.params))
            return None

    def yes_no(self, key: str) -> bool:
        """是 or 1 → True; 否, 0 or empty → False."""
        value = self.text(key, 10) or ""
        if value not in _YES_NO:
            self.row.refuse(ROW_RULE, N_("%(field)s只能填写“是”或“否”"),
                            field=Msg(_header(key)))
            return False
        return _YES_NO[value]

    def date(self, key: str, *, required: bool = False) -> dt.date | None:
        """A date in one of the formats :func:`parse_date` reads."""
        value = self.text(key, 20, required=required)
        if value is None:
            return None
        parsed = parse_date(value)
        if parsed is None:
            self.row.refuse(ROW_RULE, N_("%(field)s不是有效日期，请按2026-01-05的格式填写"),
                            field=Msg(_header(key)))
        return parsed

    def count(self, key: str) -> int | None:
        """A whole number of at least 1."""
        value = self.text(key, 10)
        if value is None:
            return None
        if not re.fullmatch(r"[0-9]+", value) or int(value) < 1:
            self.row.refuse(ROW_RULE, N_("%(field)s格式不正确"),
                            field=Msg(_header(key)))
            return None
        return int(value)


def _read_row(line: int, cells: Mapping[str, str], today: dt.date) -> _Row:
    """Read and check every cell of one row on its own."""
    row = _Row(line, cells.get(_header("name"), "").strip(),
               cells.get(_header("household"), "").strip())
    read = _Cells(row, cells)
    row.household = read.text("household", 30, required=True)
    row.relation = read.text("relation", 30)
    row.name = read.text("name", 60, required=True)
    sex = read.text("sex", 10, required=True)
    if sex is not None:
        if sex in ("男", "女"):
            row.female = sex == "女"
        else:
            row.refuse(ROW_RULE, N_("性别只能填写“男”或“女”"))
    id_text = read.text("id_number", 30)
    if id_text is not None:
        try:
            row.id_number = normalise_id_number(id_text, today=today)
        except DomainError as refusal:
            row.problems.append(RowProblem(refusal.rule, refusal.msgid, refusal.params))
    phone_text = read.text("phone", 30)
    if phone_text is not None:
        try:
            row.phone = normalise_phone(phone_text)
        except DomainError as refusal:
            row.problems.append(RowProblem(ROW_RULE, refusal.msgid, refusal.params))
    email_text = read.text("email", MAX_EMAIL + 20)
    if email_text is not None:
        try:
            row.email = normalise_email(email_text)
        except DomainError as refusal:
            row.problems.append(RowProblem(ROW_RULE, refusal.msgid, refusal.params))
    row.party_member = read.yes_no("party_member")
    row.group = read.text("group", 60)
    row.address = read.text("address", 200)
    row.representative = read.yes_no("representative")
    # The term columns mean something only for a representative; otherwise they are ignored.
    if row.representative:
        row.households_represented = read.count("households_represented")
        if (row.households_represented or 0) > MAX_HOUSEHOLDS_PER_REPRESENTATIVE:
            row.refuse(HOUSEHOLDS_RULE, N_("一名村民代表最多联系十五户，本行填写了%(n)s户"),
                       n=row.households_represented)
        row.rep_starts_on = read.date("rep_starts_on", required=True)
        row.rep_ends_on = read.date("rep_ends_on")
        if row.rep_starts_on and row.rep_ends_on and row.rep_ends_on < row.rep_starts_on:
            row.refuse(ROW_RULE, N_("任期结束日期不能早于开始日期"))
    return row


def _refuse_duplicates(rows: Sequence[_Row]) -> None:
    """Refuse a later row that is the same person as an earlier one: the same ID number, or the
    same household and name where either row has no ID number to tell them apart."""
    first_by_id: dict[str, int] = {}
    earlier_by_key: dict[tuple[str, str], list[_Row]] = {}
    for row in rows:
        duplicate_of: int | None = None
        if row.id_number is not None:
            duplicate_of = first_by_id.setdefault(row.id_number, row.line)
            if duplicate_of == row.line:
                duplicate_of = None
        if row.household is not None and row.name is not None:
            earlier = earlier_by_key.setdefault((row.household, row.name), [])
            if duplicate_of is None:
                duplicate_of = next((e.line for e in earlier
                                     if e.id_number is None or row.id_number is None), None)
            earlier.append(row)
        if duplicate_of is not None:
            row.refuse(IDENTITY_RULE, N_("与第%(line)s行是同一人，同一人只能填写一行"),
                       line=duplicate_of)


def _identify(rows: Sequence[_Row], register: Register) -> None:
    """Find who each valid row is in the register, and the representative term it registers."""
    by_id = {p.id_number: p for p in register.people if p.id_number}
    by_key: dict[tuple[str | None, str], list[ExistingPerson]] = {}
    for person in register.people:
        by_key.setdefault((person.household_number, person.name), []).append(person)
    claimed: dict[int, int] = {}
    for row in rows:
        if row.problems:
            continue
        assert row.household is not None and row.name is not None
        if row.id_number is not None and row.id_number in register.foreign_id_numbers:
            row.refuse(IDENTITY_RULE, N_("该身份证号已登记为其他村的村民"))
            continue
        existing = by_id.get(row.id_number) if row.id_number else None
        if existing is None:
            matches = by_key.get((row.household, row.name), [])
            if len(matches) > 1:
                row.refuse(IDENTITY_RULE,
                           N_("名册中该户有多名同名人员，无法确定是哪一位，请在名册中办理"))
                continue
            if matches:
                existing = matches[0]
                if row.id_number and existing.id_number not in (None, row.id_number):
                    row.refuse(IDENTITY_RULE, N_("身份证号与名册中同户同名人员登记的不一致，"
                                                 "如需更正请在名册中办理"))
                    continue
        if existing is not None:
            if existing.id in claimed:
                row.refuse(IDENTITY_RULE, N_("与第%(line)s行是同一人，同一人只能填写一行"),
                           line=claimed[existing.id])
                continue
            claimed[existing.id] = row.line
            row.existing = existing
        if row.representative:
            _plan_term(row, register)


def _plan_term(row: _Row, register: Register) -> None:
    """The term a representative row registers: nothing if the same term is registered, a
    refusal if it alters or overlaps a registered one."""
    assert row.rep_starts_on is not None
    term = RepTerm(row.rep_starts_on, row.rep_ends_on, row.households_represented)
    registered = register.rep_terms.get(row.existing.id, ()) if row.existing else ()
    for old in registered:
        if old.starts_on == term.starts_on:
            if (old.ends_on, old.households_represented) == (term.ends_on,
                                                              term.households_represented):
                return
            row.refuse(TERM_RULE, N_("该代表任期已登记，如需修改请在名册中办理"))
            return
    if any(_overlap(old.starts_on, old.ends_on, term.starts_on, term.ends_on)
           for old in registered):
        row.refuse(TERM_RULE, N_("此人在该职务上已有重叠的任期"))
        return
    row.term = term


def _overlap(start_a: dt.date, end_a: dt.date | None, start_b: dt.date,
             end_b: dt.date | None) -> bool:
    """Whether two inclusive date ranges (None = open-ended) share a day."""
    return (end_b is None or start_a <= end_b) and (end_a is None or start_b <= end_a)


def _plan_households(rows: Sequence[_Row], register: Register) -> None:
    """Create a new household from its head's row, change an existing one from its head's row,
    and refuse a second head row and the rows of a household that exists nowhere."""
    heads: dict[str, _Row] = {}
    for row in rows:
        if row.problems or not row.is_head:
            continue
        assert row.household is not None and row.name is not None
        if row.household in heads:
            row.refuse(HOUSEHOLD_RULE, N_("户号%(household)s的户主已在第%(line)s行填写"),
                       household=row.household, line=heads[row.household].line)
            continue
        heads[row.household] = row
        old = register.households.get(row.household)
        if old is None:
            row.household_action = RowStatus.CREATE
            row.household_data = HouseholdData(row.household, row.name, row.group, row.address)
            continue
        new = HouseholdData(old.number, row.name, row.group or old.group_name,
                            row.address or old.address)
        changes = [label for label, before, after in (
            (_header("relation"), old.head_name, new.head_name),
            (_header("group"), old.group_name, new.group_name),
            (_header("address"), old.address, new.address)) if before != after]
        if changes:
            row.household_action = RowStatus.CHANGE
            row.household_data = new
            row.household_changes = tuple(changes)
    for row in rows:
        if row.problems or row.household in heads or row.household in register.households:
            continue
        row.refuse(HOUSEHOLD_RULE, N_("户号%(household)s不存在，文件中也没有该户户主"),
                   household=row.household)


def _planned(row: _Row) -> PlannedRow:
    """The final decision for a row."""
    if row.problems:
        return PlannedRow(row.line, row.raw_name, row.raw_household, RowStatus.REJECT,
                          tuple(row.problems))
    assert row.name is not None and row.household is not None and row.female is not None
    old = row.existing
    person = PersonData(
        row.name, row.female,
        row.id_number or (old.id_number if old else None),
        row.phone or (old.phone if old else None),
        row.party_member,
        row.email or (old.email if old else None))
    changes: list[str] = []
    if old is not None:
        changes = [label for label, before, after in (
            (_header("household"), old.household_number, row.household),
            (_header("name"), old.name, person.name),
            (_header("sex"), old.female, person.female),
            (_header("id_number"), old.id_number, person.id_number),
            (_header("phone"), old.phone, person.phone),
            (_header("email"), old.email, person.email),
            (_header("party_member"), old.party_member, person.party_member),
        ) if before != after]
    changes.extend(row.household_changes)
    if row.term is not None:
        changes.append(_header("representative"))
    if old is None:
        status = RowStatus.CREATE
    elif changes or row.household_action is not None:
        status = RowStatus.CHANGE
    else:
        status = RowStatus.UNCHANGED
    return PlannedRow(row.line, row.name, row.household, status, (), person,
                      old.id if old else None, row.relation, tuple(changes),
                      row.household_action, row.household_data, row.term,
                      _sms_warnings(person.phone))


def _sms_warnings(phone: str | None) -> tuple[RowProblem, ...]:
    """A flag for a phone number the import keeps but no SMS can reach (a number that is not a
    mobile one, domain.notices.sms_number_refusal): notices go to that person by letter. A row
    without a number is not flagged."""
    refusal = sms_number_refusal(phone) if phone else None
    if refusal is None:
        return ()
    return (RowProblem(refusal.rule, refusal.msgid, refusal.params),)
