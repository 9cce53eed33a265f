"""Planning a register import: every row checked, matched against the register and decided
before anything is written; re-importing the same file changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pytest

from sunvote.domain.errors import DomainError, InvalidField, InvalidInput
from sunvote.domain.register_import import (
    COLUMNS,
    EXAMPLE_ROWS,
    ExistingHousehold,
    ExistingPerson,
    ExistingTerm,
    ImportPlan,
    PlannedRow,
    Register,
    RepTerm,
    RowStatus,
    check_headers,
    normalise_id_number,
    normalise_phone,
    parse_date,
    plan_import,
)
from sunvote.domain.rules import RULES_BY_CODE

TODAY = dt.date(2026, 3, 1)
HEADER = {c.key: c.header for c in COLUMNS}
EMPTY = Register({}, [], {}, frozenset())


def make_id(first17: str) -> str:
    """A resident ID number with its GB 11643-1999 check character."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    return first17 + "10X98765432"[total % 11]


ID_A = make_id("33110219750315123")  # 331102197503151239
ID_B = make_id("33110219780820246")
ID_C = make_id("33110220000101001")
ID_X = "11010519491231002X"  # the standard's own example, check character X


def cells(**values: str) -> dict[str, str]:
    """A row of a household head, with ``values`` (by column key) filled in."""
    base = {"household": "0101", "relation": "户主", "name": "张建国", "sex": "男"}
    base.update(values)
    return {HEADER[key]: value for key, value in base.items()}


def plan(*rows: Mapping[str, str], register: Register = EMPTY) -> ImportPlan:
    return plan_import([(n, r) for n, r in enumerate(rows, start=2)], register, TODAY)


def one(row: Mapping[str, str], register: Register = EMPTY) -> PlannedRow:
    (planned,) = plan(row, register=register).rows
    return planned


def msgids(row: PlannedRow) -> list[str]:
    return [p.msgid for p in row.problems]


def rules(row: PlannedRow) -> list[str]:
    return [p.rule for p in row.problems]


def register_with(*people: ExistingPerson, households: tuple[ExistingHousehold, ...] = (),
                  terms: tuple[ExistingTerm, ...] = (),
                  foreign: frozenset[str] = frozenset()) -> Register:
    numbers = {h.number: h for h in households}
    by_person: dict[int, list[ExistingTerm]] = {}
    for term in terms:
        by_person.setdefault(term.person_id, []).append(term)
    return Register(numbers, list(people), by_person, foreign)


HOUSE = ExistingHousehold(1, "0101", "张建国", "第一村民小组", "阳光村1号")
ZHANG = ExistingPerson(10, "0101", "张建国", False, ID_A, "13900000001", True)


def apply(plan: ImportPlan, register: Register) -> Register:
    """What the database service does with a plan, on a snapshot: households first, then
    people, then terms."""
    households = dict(register.households)
    people = {p.id: p for p in register.people}
    terms = {k: list(v) for k, v in register.rep_terms.items()}
    next_id = 1000
    for row in plan.accepted:
        if row.household_data is not None:
            data = row.household_data
            old = households.get(data.number)
            households[data.number] = ExistingHousehold(
                old.id if old else next_id, data.number, data.head_name, data.group_name,
                data.address)
            next_id += 1
    for row in plan.accepted:
        assert row.person is not None
        person_id = row.person_id or next_id
        next_id += 1
        p = row.person
        people[person_id] = ExistingPerson(person_id, row.household, p.name, p.female,
                                           p.id_number, p.phone, p.party_member, p.email)
        if row.representative is not None:
            t = row.representative
            terms.setdefault(person_id, []).append(
                ExistingTerm(person_id, t.starts_on, t.ends_on, t.households_represented))
    return Register(households, list(people.values()), terms, register.foreign_id_numbers)


# --- the template and the header row ------------------------------------------------------------

def test_the_template_columns_are_in_order_with_help_and_examples() -> None:
    assert [c.header for c in COLUMNS] == [
        "户号", "与户主关系", "姓名", "性别", "身份证号", "手机号", "党员", "村民小组", "住址",
        "村民代表", "联系户数", "代表任期开始", "代表任期结束", "电子邮箱"]
    assert [c.key for c in COLUMNS if c.required] == ["household", "name", "sex"]
    assert all(c.help for c in COLUMNS)
    assert "撤销" in next(c.help for c in COLUMNS if c.key == "representative")


def test_the_example_rows_plan_as_a_new_household_head_representative_and_his_wife() -> None:
    rows = [{HEADER[k]: v for k, v in example.items()} for example in EXAMPLE_ROWS]
    result = plan(*rows)
    assert [r.status for r in result.rows] == [RowStatus.CREATE, RowStatus.CREATE]
    head, wife = result.rows
    assert head.household_action is RowStatus.CREATE and head.representative is not None
    assert wife.person is not None and wife.person.female and wife.household_action is None


def test_headers_missing_a_required_column_refuse_the_file_naming_it() -> None:
    with pytest.raises(InvalidInput) as info:
        check_headers(["户号", "性别", "手机号"])
    assert info.value.rule == "import.file"
    assert list(info.value.params["columns"]) == ["姓名"]  # type: ignore[call-overload]


def test_a_repeated_template_column_refuses_the_file() -> None:
    with pytest.raises(InvalidInput, match="姓名"):
        check_headers(["户号", "姓名", "性别", "姓名"])


def test_unknown_columns_are_ignored_with_a_note_and_optional_columns_may_be_missing() -> None:
    assert check_headers(["户号", "姓名", "性别"]) == ()
    (note,) = check_headers(["户号", "姓名", "性别", "备注", "", "民族"])
    assert note.rule == "import.file" and note.params["columns"] == "备注、民族"
    result = plan_import([(2, {**cells(), "备注": "x"})], EMPTY, TODAY)
    assert result.notes == (note.__class__(note.rule, note.msgid, {"columns": "备注"}),)
    assert result.rows[0].status is RowStatus.CREATE


def test_plan_checks_the_given_headers_too() -> None:
    with pytest.raises(InvalidInput):
        plan_import([], EMPTY, TODAY, headers=["户号", "姓名"])


def test_empty_rows_are_skipped_and_an_empty_file_gets_a_note() -> None:
    result = plan(cells(), {h: "" for h in HEADER.values()}, {HEADER["name"]: "  "})
    assert len(result.rows) == 1 and result.counts["create"] == 1
    empty = plan_import([], EMPTY, TODAY)
    assert empty.rows == () and [n.rule for n in empty.notes] == ["import.file"]


# --- cell checks --------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["household", "name", "sex"])
def test_a_missing_required_value_rejects_the_row_naming_the_column(key: str) -> None:
    row = one(cells(**{key: " "}))
    assert row.status is RowStatus.REJECT
    assert row.problems[0].msgid == "请填写%(field)s"
    assert row.problems[0].params["field"] == HEADER[key]
    assert row.problems[0].rule == "import.row"


def test_a_representative_without_a_term_start_is_rejected() -> None:
    row = one(cells(representative="是"))
    assert row.status is RowStatus.REJECT and row.problems[0].params["field"] == "代表任期开始"
    assert one(cells(representative="是", rep_starts_on="2026-01-01")).status is RowStatus.CREATE


@pytest.mark.parametrize("key", [c.key for c in COLUMNS])
def test_a_formula_in_any_column_rejects_the_row_and_is_never_evaluated(key: str) -> None:
    row = one(cells(**{key: "=1+1"}))
    assert row.status is RowStatus.REJECT
    assert "公式" in row.problems[0].msgid and row.problems[0].params["field"] == HEADER[key]
    assert len(row.problems) == 1  # a refused cell is refused once, not also as missing


def test_text_with_control_characters_is_rejected() -> None:
    row = one(cells(name="张\x07三"))
    assert msgids(row) == ["%(field)s含有不允许的控制字符"]


@pytest.mark.parametrize(("key", "limit"), [
    ("name", 60), ("household", 30), ("group", 60), ("address", 200)])
def test_text_is_limited_in_length(key: str, limit: int) -> None:
    assert one(cells(**{key: "村" * limit})).status is RowStatus.CREATE
    row = one(cells(**{key: "村" * (limit + 1)}))
    assert msgids(row) == ["%(field)s不能超过%(max)s个字"]
    assert row.problems[0].params["max"] == limit


def test_text_is_trimmed() -> None:
    row = one(cells(name="  张建国\u3000", household=" 0101 "))
    assert (row.name, row.household) == ("张建国", "0101")


@pytest.mark.parametrize(("sex", "female"), [("男", False), ("女", True)])
def test_sex_is_male_or_female(sex: str, female: bool) -> None:
    row = one(cells(sex=sex))
    assert row.person is not None and row.person.female is female


@pytest.mark.parametrize("sex", ["M", "男性", "1"])
def test_any_other_sex_is_rejected(sex: str) -> None:
    assert msgids(one(cells(sex=sex))) == ["性别只能填写“男”或“女”"]


@pytest.mark.parametrize(("text", "value"), [("是", True), ("1", True), ("否", False),
                                             ("0", False), ("", False)])
def test_party_member_reads_yes_no_one_zero_and_empty(text: str, value: bool) -> None:
    row = one(cells(party_member=text))
    assert row.person is not None and row.person.party_member is value


@pytest.mark.parametrize("key", ["party_member", "representative"])
@pytest.mark.parametrize("text", ["Y", "有", "yes"])
def test_yes_no_columns_refuse_anything_else(key: str, text: str) -> None:
    row = one(cells(**{key: text}))
    assert msgids(row) == ["%(field)s只能填写“是”或“否”"]
    assert row.problems[0].params["field"] == HEADER[key]


# --- ID numbers and phones ----------------------------------------------------------------------

def test_valid_id_numbers_are_accepted_and_a_lower_case_x_is_normalised() -> None:
    assert normalise_id_number(ID_A) == ID_A
    assert normalise_id_number(ID_X.lower()) == ID_X
    row = one(cells(id_number=ID_X.lower()))
    assert row.person is not None and row.person.id_number == ID_X


@pytest.mark.parametrize("number", [
    ID_A[:-1] + ("0" if ID_A[-1] != "0" else "1"),  # wrong check digit
    ID_A[:17],  # 17 characters
    ID_A + "1",  # 19 characters
    "33110219750230" + "1230",  # 30 February
    "33110219751301" + "1230",  # month 13
    "A" + ID_A[1:],
    make_id("33110220270101001"),  # born after today
])
def test_invalid_id_numbers_are_rejected(number: str) -> None:
    row = one(cells(id_number=number))
    assert msgids(row) == ["身份证号格式或校验位不正确"] and rules(row) == ["person.id_number"]


def test_id_number_check_raises_and_the_future_check_needs_today() -> None:
    with pytest.raises(InvalidField) as info:
        normalise_id_number(ID_A[:17] + "0")
    assert info.value.rule == "person.id_number"
    future = make_id("33110220270101001")
    assert normalise_id_number(future) == future
    with pytest.raises(InvalidField):
        normalise_id_number(future, today=TODAY)


def test_an_id_number_excel_stored_as_a_number_is_rejected_with_a_hint() -> None:
    row = one(cells(id_number="3.31102197503151E+17"))
    assert msgids(row) == ["%(field)s被Excel存成了数字，请把该列设为文本格式后重新填写"]
    assert row.problems[0].params["field"] == "身份证号"


@pytest.mark.parametrize("phone", ["13900000001", "139 0000 0001", "139-0000-0001",
                                   "+86 139 0000 0001", "+8613900000001"])
def test_mobile_numbers_are_normalised(phone: str) -> None:
    row = one(cells(phone=phone))
    assert row.person is not None and row.person.phone == "13900000001"


@pytest.mark.parametrize("phone", ["1390000000", "139000000012", "23900000001", "0578-2123456",
                                   "1390000000a"])
def test_anything_but_a_mobile_number_is_rejected(phone: str) -> None:
    assert msgids(one(cells(phone=phone))) == ["手机号须为11位手机号码"]
    with pytest.raises(InvalidField):
        normalise_phone(phone)


# --- dates and representative columns ----------------------------------------------------------

@pytest.mark.parametrize("text", ["2026-01-05", "2026/1/5", "2026.1.5", "2026年1月5日",
                                  "2026-1-05", " 2026/01/05 "])
def test_dates_are_read_in_the_usual_chinese_formats(text: str) -> None:
    assert parse_date(text) == dt.date(2026, 1, 5)


@pytest.mark.parametrize("text", ["2026-13-01", "2026-02-30", "2026/1-5", "05/01/2026",
                                  "明年", "20260105"])
def test_bad_dates_are_rejected_naming_the_column(text: str) -> None:
    assert parse_date(text) is None
    row = one(cells(representative="是", rep_starts_on="2026-01-01", rep_ends_on=text))
    assert msgids(row) == ["%(field)s不是有效日期，请按2026-01-05的格式填写"]
    assert row.problems[0].params["field"] == "代表任期结束"


def test_a_term_may_not_end_before_it_starts() -> None:
    row = one(cells(representative="是", rep_starts_on="2026-01-02", rep_ends_on="2026-01-01"))
    assert msgids(row) == ["任期结束日期不能早于开始日期"]
    same_day = one(cells(representative="是", rep_starts_on="2026-01-02",
                         rep_ends_on="2026年1月2日"))
    assert same_day.representative == RepTerm(dt.date(2026, 1, 2), dt.date(2026, 1, 2), None)


@pytest.mark.parametrize("count", ["abc", "0", "-1", "2.5"])
def test_households_represented_must_be_a_whole_number_of_at_least_one(count: str) -> None:
    row = one(cells(representative="是", rep_starts_on="2026-01-01",
                    households_represented=count))
    assert msgids(row) == ["%(field)s格式不正确"] and row.problems[0].params["field"] == "联系户数"


def test_more_than_fifteen_households_per_representative_is_rejected() -> None:
    row = one(cells(representative="是", rep_starts_on="2026-01-01",
                    households_represented="16"))
    assert rules(row) == ["roster.households_per_representative"]
    assert "十五户" in row.problems[0].msgid and row.problems[0].params["n"] == 16


@pytest.mark.parametrize("count", ["15", "3", "1"])
def test_fifteen_or_fewer_households_are_accepted(count: str) -> None:
    row = one(cells(representative="是", rep_starts_on="2026-01-01",
                    households_represented=count))
    assert row.representative is not None and row.representative.households_represented == int(
        count)


def test_term_columns_are_ignored_unless_the_row_is_a_representative() -> None:
    row = one(cells(representative="否", rep_starts_on="不是日期", households_represented="99"))
    assert row.status is RowStatus.CREATE and row.representative is None


# --- duplicates within the file -----------------------------------------------------------------

def test_a_repeated_id_number_rejects_the_later_row_naming_the_earlier_line() -> None:
    result = plan(cells(id_number=ID_A), cells(household="0102", name="张三", id_number=ID_A))
    first, later = result.rows
    assert first.status is RowStatus.CREATE
    assert later.status is RowStatus.REJECT and later.problems[0].params["line"] == 2
    assert later.problems[0].rule == "import.identity"


def test_the_same_household_and_name_without_id_rejects_the_later_row() -> None:
    result = plan(cells(), cells(relation="", id_number=ID_B))
    assert [r.status for r in result.rows] == [RowStatus.CREATE, RowStatus.REJECT]
    assert result.rows[1].problems[0].params == {"line": 2}


def test_two_people_of_the_same_name_in_a_household_are_told_apart_by_id_number() -> None:
    result = plan(cells(id_number=ID_A), cells(relation="父亲", id_number=ID_X))
    assert [r.status for r in result.rows] == [RowStatus.CREATE, RowStatus.CREATE]


# --- matching the register ----------------------------------------------------------------------

def test_an_id_number_registered_in_another_village_is_rejected() -> None:
    row = one(cells(id_number=ID_A), register_with(foreign=frozenset({ID_A})))
    assert msgids(row) == ["该身份证号已登记为其他村的村民"] and rules(row) == ["import.identity"]


def test_a_person_is_found_by_id_number_even_under_another_name_and_household() -> None:
    register = register_with(ZHANG, households=(HOUSE,))
    row = one(cells(household="0101", relation="", name="张建民", id_number=ID_A,
                    phone="13900000001", party_member="是"), register)
    assert row.status is RowStatus.CHANGE and row.person_id == ZHANG.id
    assert row.changes == ("姓名",)


def test_without_id_number_a_person_is_found_by_household_and_name() -> None:
    register = register_with(ZHANG, households=(HOUSE,))
    row = one(cells(party_member="是"), register)
    assert row.status is RowStatus.UNCHANGED and row.person_id == ZHANG.id
    assert row.person is not None and row.person.id_number == ID_A  # the stored ID is kept
    assert row.person.phone == "13900000001"  # an empty phone cell keeps the stored phone


def test_an_id_number_other_than_the_one_registered_for_that_household_and_name_is_rejected() \
        -> None:
    register = register_with(ZHANG, households=(HOUSE,))
    row = one(cells(id_number=ID_B, party_member="是"), register)
    assert row.status is RowStatus.REJECT and rules(row) == ["import.identity"]
    assert "不一致" in row.problems[0].msgid


def test_adding_an_id_number_where_none_was_registered_is_a_change() -> None:
    register = register_with(ExistingPerson(10, "0101", "张建国", False, None, None, False),
                             households=(HOUSE,))
    row = one(cells(id_number=ID_A), register)
    assert row.status is RowStatus.CHANGE and row.changes == ("身份证号",)
    assert row.person is not None and row.person.id_number == ID_A


def test_two_registered_people_of_the_same_name_in_a_household_cannot_be_guessed() -> None:
    twin = ExistingPerson(11, "0101", "张建国", False, None, None, False)
    row = one(cells(party_member="是"), register_with(ZHANG, twin, households=(HOUSE,)))
    assert row.status is RowStatus.REJECT and rules(row) == ["import.identity"]


def test_two_rows_for_the_same_registered_person_reject_the_later() -> None:
    register = register_with(ZHANG, households=(HOUSE,))
    result = plan(cells(household="0101", relation="", name="张大", id_number=ID_A),
                  cells(party_member="是"), register=register)
    assert [r.status for r in result.rows] == [RowStatus.CHANGE, RowStatus.REJECT]
    assert result.rows[1].problems[0].params == {"line": 2}


@pytest.mark.parametrize(("values", "labels"), [
    ({"phone": "13900000002"}, ("手机号",)),
    ({"party_member": "否"}, ("党员",)),
    ({"sex": "女"}, ("性别",)),
    ({"phone": "", "party_member": "是"}, ()),
    ({"household": "0102", "relation": ""}, ("户号",)),
])
def test_changed_fields_are_listed(values: dict[str, str], labels: tuple[str, ...]) -> None:
    other = ExistingHousehold(2, "0102", "王五", None, None)
    register = register_with(ZHANG, households=(HOUSE, other))
    row = one(cells(**{"id_number": ID_A, "party_member": "是", **values}), register)
    assert row.changes == labels
    assert row.status is (RowStatus.CHANGE if labels else RowStatus.UNCHANGED)


# --- households ---------------------------------------------------------------------------------

def test_a_head_row_creates_a_new_household_and_family_rows_may_come_first() -> None:
    result = plan(cells(relation="妻子", name="李秀英", sex="女"),
                  cells(group="第二村民小组", address="阳光村2号"))
    wife, head = result.rows
    assert wife.status is RowStatus.CREATE and wife.household_action is None
    assert head.household_action is RowStatus.CREATE
    assert head.household_data is not None
    assert (head.household_data.head_name, head.household_data.group_name,
            head.household_data.address) == ("张建国", "第二村民小组", "阳光村2号")


def test_rows_of_a_household_that_exists_nowhere_are_rejected() -> None:
    row = one(cells(relation="妻子", name="李秀英", sex="女"))
    assert rules(row) == ["import.household"] and row.problems[0].params == {"household": "0101"}


def test_a_family_is_rejected_with_its_rejected_head() -> None:
    result = plan(cells(phone="123"), cells(relation="妻子", name="李秀英", sex="女"))
    assert [r.status for r in result.rows] == [RowStatus.REJECT, RowStatus.REJECT]
    assert rules(result.rows[1]) == ["import.household"]


def test_a_second_head_of_the_same_household_is_rejected() -> None:
    result = plan(cells(), cells(name="张二"), cells(relation="妻子", name="李秀英", sex="女"))
    assert [r.status for r in result.rows] == [RowStatus.CREATE, RowStatus.REJECT,
                                               RowStatus.CREATE]
    assert result.rows[1].problems[0].params == {"household": "0101", "line": 2}


def test_family_rows_of_a_registered_household_need_no_head_row() -> None:
    row = one(cells(relation="", name="李秀英", sex="女"), register_with(households=(HOUSE,)))
    assert row.status is RowStatus.CREATE and row.household_action is None


def test_a_head_row_changes_the_registered_household_and_empty_cells_keep_stored_values() -> None:
    register = register_with(ZHANG, households=(HOUSE,))
    same = one(cells(party_member="是"), register)
    assert same.status is RowStatus.UNCHANGED and same.household_action is None
    moved = one(cells(party_member="是", group="第三村民小组"), register)
    assert moved.status is RowStatus.CHANGE and moved.household_action is RowStatus.CHANGE
    assert moved.household_data is not None
    assert (moved.household_data.group_name, moved.household_data.address) == (
        "第三村民小组", "阳光村1号")
    assert moved.changes == ("村民小组",)


def test_a_new_head_changes_the_households_head_name() -> None:
    register = register_with(ZHANG, households=(HOUSE,))
    row = one(cells(name="张小明"), register)
    assert row.status is RowStatus.CREATE and row.household_action is RowStatus.CHANGE
    assert row.household_data is not None and row.household_data.head_name == "张小明"
    assert row.changes == ("与户主关系",)


# --- representative terms -----------------------------------------------------------------------

TERM = ExistingTerm(10, dt.date(2026, 1, 1), dt.date(2030, 12, 31), 10)


def rep(**values: str) -> dict[str, str]:
    return cells(**{"id_number": ID_A, "phone": "13900000001", "party_member": "是",
                    "representative": "是", "rep_starts_on": "2026-01-01",
                    "rep_ends_on": "2030-12-31", "households_represented": "10", **values})


def test_a_new_representative_gets_a_term() -> None:
    row = one(rep())
    assert row.status is RowStatus.CREATE
    assert row.representative == RepTerm(dt.date(2026, 1, 1), dt.date(2030, 12, 31), 10)


def test_the_same_registered_term_is_left_alone() -> None:
    row = one(rep(rep_starts_on="2026/1/1"), register_with(ZHANG, households=(HOUSE,),
                                                           terms=(TERM,)))
    assert row.status is RowStatus.UNCHANGED and row.representative is None


@pytest.mark.parametrize("values", [{"rep_ends_on": "2029-12-31"}, {"rep_ends_on": ""},
                                    {"households_represented": "12"}])
def test_a_registered_term_is_not_altered_by_an_import(values: dict[str, str]) -> None:
    row = one(rep(**values), register_with(ZHANG, households=(HOUSE,), terms=(TERM,)))
    assert msgids(row) == ["该代表任期已登记，如需修改请在名册中办理"]
    assert rules(row) == ["import.rep_term"]


@pytest.mark.parametrize(("start", "end"), [("2030-12-31", ""), ("2025-01-01", "2026-01-01"),
                                            ("2027-01-01", "2027-12-31")])
def test_a_term_overlapping_a_registered_one_is_rejected(start: str, end: str) -> None:
    row = one(rep(rep_starts_on=start, rep_ends_on=end),
              register_with(ZHANG, households=(HOUSE,), terms=(TERM,)))
    assert msgids(row) == ["此人在该职务上已有重叠的任期"] and rules(row) == ["import.rep_term"]


def test_a_later_term_is_registered_as_a_change() -> None:
    row = one(rep(rep_starts_on="2031-01-01", rep_ends_on=""),
              register_with(ZHANG, households=(HOUSE,), terms=(TERM,)))
    assert row.status is RowStatus.CHANGE and row.changes == ("村民代表",)
    assert row.representative == RepTerm(dt.date(2031, 1, 1), None, 10)


def test_an_open_ended_registered_term_overlaps_any_later_term() -> None:
    open_term = ExistingTerm(10, dt.date(2020, 1, 1), None, None)
    row = one(rep(), register_with(ZHANG, households=(HOUSE,), terms=(open_term,)))
    assert rules(row) == ["import.rep_term"]


def test_no_or_empty_never_removes_a_registered_term() -> None:
    register = register_with(ZHANG, households=(HOUSE,), terms=(TERM,))
    for value in ("否", ""):
        row = one(rep(representative=value), register)
        assert row.status is RowStatus.UNCHANGED and row.representative is None


# --- the plan as a whole ------------------------------------------------------------------------

def test_counts_and_the_accepted_and_rejected_rows() -> None:
    register = register_with(ZHANG, households=(HOUSE,))
    result = plan(cells(party_member="是"), cells(relation="", name="李秀英", sex="女"),
                  cells(household="0102", relation="", name="王五"),
                  cells(relation="", name="张小", phone="13900000009"), register=register)
    assert dict(result.counts) == {"create": 2, "change": 0, "unchanged": 1, "reject": 1}
    assert [r.line for r in result.accepted] == [2, 3, 5]
    assert [r.line for r in result.rejected] == [4]
    assert result.has_changes
    assert not plan(cells(party_member="是"), register=register).has_changes


def test_every_rule_a_plan_names_is_in_the_rules_table() -> None:
    for code in ("import.file", "import.row", "person.id_number", "import.identity",
                 "import.household", "import.rep_term", "roster.households_per_representative"):
        assert code in RULES_BY_CODE


def test_a_problem_renders_in_chinese() -> None:
    row = one(cells(name=""))
    problem = row.problems[0]
    assert DomainError(problem.rule, problem.msgid, **problem.params).render(str) == "请填写姓名"


def mixed_file() -> list[dict[str, str]]:
    """Households new and registered, a moved person, a representative, a family member."""
    return [
        rep(group="第一村民小组", address="阳光村1号", name="张建国"),
        cells(relation="妻子", name="李秀英", sex="女", id_number=ID_B),
        cells(household="0105", relation="户主", name="王五", group="第五村民小组",
              representative="是", rep_starts_on="2026年2月1日", households_represented="3"),
        cells(household="0105", relation="儿子", name="王小五", phone="+86 139-0000-0005"),
        cells(household="0105", relation="", name="赵六", id_number=ID_X, party_member="1"),
        cells(household="0102", relation="", name="钱七", sex="女", id_number=ID_C),
        cells(household="0199", relation="", name="没有户"),
    ]


def test_re_importing_the_same_file_after_applying_it_changes_nothing() -> None:
    zhao = ExistingPerson(20, "0102", "赵六", False, ID_X, None, False)
    qian = ExistingPerson(21, "0102", "钱七", True, None, "13900000007", False)
    register = register_with(
        ExistingPerson(10, "0101", "张建国", False, None, None, False), zhao, qian,
        households=(ExistingHousehold(1, "0101", "张老汉", None, "旧址"),
                    ExistingHousehold(2, "0102", "赵六", None, None)))
    rows = [(n, r) for n, r in enumerate(mixed_file(), start=2)]
    first = plan_import(rows, register, TODAY)
    assert [r.status.value for r in first.rows] == [
        "change", "create", "create", "create", "change", "change", "reject"]
    assert first.rows[4].changes == ("户号", "党员")  # 赵六 moved to 0105 and joined the party
    applied = apply(first, register)
    second = plan_import(rows, applied, TODAY)
    assert [r.status.value for r in second.rows] == ["unchanged"] * 6 + ["reject"]
    assert not second.has_changes
    assert apply(second, applied) == applied


def test_a_two_thousand_row_file_is_planned() -> None:
    rows = []
    for i in range(500):
        household = f"{i:04d}"
        rows.append({HEADER["household"]: household, HEADER["relation"]: "户主",
                     HEADER["name"]: f"户主{i}", HEADER["sex"]: "男",
                     HEADER["id_number"]: make_id(f"331102197001{i % 28 + 1:02d}{i:03d}"),
                     HEADER["phone"]: f"139{i:08d}", HEADER["representative"]: "是" if i % 10 == 0
                     else "否", HEADER["rep_starts_on"]: "2026-01-01",
                     HEADER["households_represented"]: "10"})
        for j in range(3):
            rows.append({HEADER["household"]: household, HEADER["relation"]: "子女",
                         HEADER["name"]: f"成员{i}-{j}", HEADER["sex"]: "女" if j else "男"})
    result = plan_import(list(enumerate(rows, start=2)), EMPTY, TODAY)
    assert result.counts["create"] == 2000 and len(result.rows) == 2000
    again = plan_import(list(enumerate(rows, start=2)), apply(result, EMPTY), TODAY)
    assert again.counts["unchanged"] == 2000


# --- e-mail, and numbers no SMS reaches (issue 18) ----------------------------------------------

@pytest.mark.parametrize(("text", "kept"), [
    ("zhang@example.cn", "zhang@example.cn"), (" Zhang.Jian+1@Mail.QQ.com ",
                                               "Zhang.Jian+1@mail.qq.com")])
def test_an_email_address_is_kept_with_its_domain_in_lower_case(text: str, kept: str) -> None:
    row = one(cells(email=text))
    assert row.status is RowStatus.CREATE and row.person is not None
    assert row.person.email == kept


@pytest.mark.parametrize("text", ["zhang", "zhang@", "@example.cn", "zhang@example",
                                  "zhang @example.cn", "zhang@example..cn", "张@例子.中国",
                                  "a@b.cn,c@d.cn", "x" * 120 + "@example.cn"])
def test_anything_but_one_email_address_rejects_the_row(text: str) -> None:
    row = one(cells(email=text))
    assert row.status is RowStatus.REJECT
    assert msgids(row) == ["电子邮箱格式不正确，例如zhang@example.cn"]
    assert rules(row) == ["import.row"]


def test_an_empty_email_keeps_the_stored_one_and_a_new_one_is_a_change() -> None:
    stored = ExistingPerson(10, "0101", "张建国", False, ID_A, "13900000001", True,
                            "old@example.cn")
    register = register_with(stored, households=(HOUSE,))
    same = one(cells(id_number=ID_A, phone="13900000001", party_member="是", group="第一村民小组",
                     address="阳光村1号"), register)
    assert same.status is RowStatus.UNCHANGED and same.person is not None
    assert same.person.email == "old@example.cn"
    new = one(cells(id_number=ID_A, phone="13900000001", party_member="是",
                    email="new@example.cn"), register)
    assert new.status is RowStatus.CHANGE and new.changes == ("电子邮箱",)


@pytest.mark.parametrize("phone", ["12000000001", "10000000001", "11912345678"])
def test_a_number_no_sms_reaches_is_flagged_and_the_row_still_imports(phone: str) -> None:
    row = one(cells(phone=phone))
    assert row.status is RowStatus.CREATE and row.problems == ()
    assert [(w.rule, w.msgid) for w in row.warnings] == [
        ("notice.sms_number", "“%(phone)s”不是可以接收短信的手机号")]
    assert row.warnings[0].params == {"phone": phone}


def test_a_mobile_or_no_number_is_not_flagged() -> None:
    assert one(cells(phone="13900000001")).warnings == ()
    assert one(cells()).warnings == ()


def test_a_stored_number_no_sms_reaches_is_flagged_when_the_file_leaves_it_empty() -> None:
    stored = ExistingPerson(10, "0101", "张建国", False, ID_A, "12000000001", False)
    row = one(cells(id_number=ID_A), register_with(stored, households=(HOUSE,)))
    assert [w.rule for w in row.warnings] == ["notice.sms_number"]
