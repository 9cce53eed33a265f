"""Register files: CSV in UTF-8 or GBK and XLSX read into rows of text without evaluating
anything, bad files refused, templates that import, and exports no spreadsheet can run."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from sunvote.domain.errors import InvalidInput
from sunvote.domain.register_import import (
    COLUMNS,
    Register,
    RowStatus,
    check_headers,
    plan_import,
)
from sunvote.services.register_files import (
    read_table,
    template_csv,
    template_xlsx,
    write_csv,
    write_xlsx,
)

TODAY = dt.date(2026, 3, 1)
EMPTY = Register({}, [], {}, frozenset())
CSV_TEXT = (
    "户号,与户主关系,姓名,性别,身份证号,手机号\r\n"
    "0101,户主,张建国,男,331102197503151239,13900000001\r\n"
    "0101,妻子,李秀英,女,,\r\n"
)


def refused(filename: str, data: bytes, **options: int) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        read_table(filename, data, **options)
    assert info.value.rule == "import.file"
    return info.value


def xlsx(*rows: list[object]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- CSV ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "encoding"), [
    (CSV_TEXT.encode("utf-8"), "utf-8"),
    (CSV_TEXT.encode("utf-8-sig"), "utf-8"),
    (CSV_TEXT.encode("gbk"), "gb18030"),
])
def test_csv_in_utf8_with_or_without_bom_or_gbk_is_read(data: bytes, encoding: str) -> None:
    table = read_table("名册.csv", data)
    assert table.encoding == encoding
    assert table.headers == ("户号", "与户主关系", "姓名", "性别", "身份证号", "手机号")
    assert [line for line, _ in table.rows] == [2, 3]
    assert table.rows[0][1]["姓名"] == "张建国" and table.rows[1][1]["身份证号"] == ""
    result = plan_import(table.rows, EMPTY, TODAY, headers=table.headers)
    assert [r.status for r in result.rows] == [RowStatus.CREATE, RowStatus.CREATE]


@pytest.mark.parametrize("delimiter", ["\t", ";"])
def test_tab_or_semicolon_separated_files_are_read(delimiter: str) -> None:
    table = read_table("x.CSV", CSV_TEXT.replace(",", delimiter).encode())
    assert table.rows[0][1]["手机号"] == "13900000001"


def test_a_comma_file_with_semicolons_in_a_cell_stays_comma_separated() -> None:
    text = "户号,姓名,性别,住址\n0101,张建国,男,\"一组;二号\"\n"
    table = read_table("x.csv", text.encode())
    assert table.rows[0][1]["住址"] == "一组;二号"


def test_blank_lines_are_skipped_but_rows_keep_the_numbers_excel_shows() -> None:
    text = "\n户号,姓名,性别\n\n0101,张建国,男\n,,\n0102,王五,男\n"
    table = read_table("x.csv", text.encode())
    assert [line for line, _ in table.rows] == [4, 6]


def test_headers_are_trimmed_of_spaces_and_full_width_spaces() -> None:
    text = " 户号 ,\u3000姓名\u3000,性别,备注,\n0101,张建国,男,x,y\n"
    table = read_table("x.csv", text.encode())
    assert table.headers == ("户号", "姓名", "性别", "备注")
    assert table.rows[0][1] == {"户号": "0101", "姓名": "张建国", "性别": "男", "备注": "x"}
    (note,) = check_headers(table.headers)
    assert note.params["columns"] == "备注"


def test_short_rows_read_missing_cells_as_empty() -> None:
    table = read_table("x.csv", "户号,姓名,性别,手机号\n0101,张建国\n".encode())
    assert table.rows[0][1]["手机号"] == "" and table.rows[0][1]["性别"] == ""


def test_a_header_only_file_has_no_rows() -> None:
    table = read_table("x.csv", "户号,姓名,性别\n".encode())
    assert table.rows == () and plan_import(table.rows, EMPTY, TODAY).notes


def test_a_repeated_header_refuses_the_file() -> None:
    refused("x.csv", "户号,姓名,性别,姓名\n".encode())


# --- XLSX ---------------------------------------------------------------------------------------

def test_xlsx_cells_are_read_as_text_and_formulas_are_not_evaluated() -> None:
    headers = [c.header for c in COLUMNS]
    data = xlsx(
        headers,
        ["0101", "户主", "张建国", "男", "331102197503151239", 13900000001, True, None, None,
         "是", 10.0, dt.datetime(2026, 1, 5), dt.date(2030, 12, 31)],
        ["0101", "妻子", "=A1&\"x\"", "女"],
        ["0101", "女儿", "张小", "女", 331102200001010010.0],
        [],
        [" 0101 ", "儿子", "张大", "男", None, 13900000002.0],
    )
    table = read_table("名册.xlsx", data)
    assert table.encoding == "xlsx" and table.headers == tuple(headers)
    assert [line for line, _ in table.rows] == [2, 3, 4, 6]
    head = table.rows[0][1]
    assert (head["手机号"], head["党员"], head["联系户数"], head["代表任期开始"],
            head["代表任期结束"], head["村民小组"]) == (
        "13900000001", "是", "10", "2026-01-05", "2030-12-31", "")
    assert table.rows[1][1]["姓名"] == "=A1&\"x\""
    assert table.rows[2][1]["身份证号"] == "3.3110220000101e+17"  # as Excel shows it: digits lost
    assert table.rows[3][1]["户号"] == "0101" and table.rows[3][1]["手机号"] == "13900000002"

    result = plan_import(table.rows, EMPTY, TODAY, headers=table.headers)
    assert [r.status.value for r in result.rows] == ["create", "reject", "reject", "create"]
    assert "公式" in result.rows[1].problems[0].msgid
    assert result.rows[2].problems[0].msgid == (
        "%(field)s被Excel存成了数字，请把该列设为文本格式后重新填写")
    assert result.rows[0].representative is not None
    assert result.rows[0].representative.starts_on == dt.date(2026, 1, 5)


def test_only_the_first_worksheet_is_read() -> None:
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    first.append(["户号", "姓名", "性别"])
    workbook.create_sheet("其他").append(["别的", "表"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert read_table("x.xlsx", buffer.getvalue()).headers == ("户号", "姓名", "性别")


def test_an_empty_sheet_is_refused_and_leading_blank_rows_are_skipped() -> None:
    refused("x.xlsx", xlsx())
    table = read_table("x.xlsx", xlsx([], [], ["户号", "姓名", "性别"], ["1", "a", "男"]))
    assert [line for line, _ in table.rows] == [4]


# --- refused files ------------------------------------------------------------------------------

def test_an_old_xls_file_is_refused_with_a_hint() -> None:
    error = refused("名册.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    assert ".xlsx或.csv" in error.msgid
    refused("名册.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)


@pytest.mark.parametrize("filename", ["名册.txt", "名册", "名册.xlsx.exe", "名册.numbers"])
def test_other_file_types_are_refused(filename: str) -> None:
    refused(filename, CSV_TEXT.encode())


def test_random_bytes_are_refused() -> None:
    data = random.Random(7).randbytes(4096)
    refused("x.csv", data)
    refused("x.xlsx", data)


def test_a_corrupt_xlsx_is_refused() -> None:
    good = template_xlsx()
    refused("x.xlsx", good[: len(good) // 2])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    refused("x.xlsx", buffer.getvalue())


def test_an_empty_file_or_one_without_a_header_is_refused() -> None:
    refused("x.csv", b"")
    refused("x.csv", b"\r\n\r\n , \r\n")
    refused("x.csv", "\ufeff".encode())


def test_undecodable_text_is_refused() -> None:
    refused("x.csv", "户号,姓名\n".encode("utf-16"))
    refused("x.csv", b"\xff\xfe\xfd,\x80\n")


def test_too_many_rows_are_refused() -> None:
    text = "户号,姓名,性别\n" + "".join(f"{i},张{i},男\n" for i in range(11))
    assert len(read_table("x.csv", text.encode(), max_rows=11).rows) == 11
    error = refused("x.csv", text.encode(), max_rows=10)
    assert error.params["max"] == 10
    workbook = xlsx(["户号", "姓名", "性别"], *[[str(i), "张", "男"] for i in range(11)])
    refused("x.xlsx", workbook, max_rows=10)


def test_an_oversized_file_is_refused() -> None:
    refused("x.csv", CSV_TEXT.encode(), max_bytes=10)
    refused("x.csv", b"a" * (5 * 1024 * 1024 + 1))


# --- templates ----------------------------------------------------------------------------------

def test_the_csv_template_has_a_bom_and_its_examples_import() -> None:
    data = template_csv()
    assert data.startswith(b"\xef\xbb\xbf")
    table = read_table("模板.csv", data)
    assert table.headers == tuple(c.header for c in COLUMNS) and check_headers(table.headers) == ()
    result = plan_import(table.rows, EMPTY, TODAY, headers=table.headers)
    assert [r.status for r in result.rows] == [RowStatus.CREATE, RowStatus.CREATE]
    assert result.rows[0].representative is not None


def test_the_xlsx_template_keeps_numbers_as_text_explains_columns_and_its_examples_import() \
        -> None:
    data = template_xlsx()
    table = read_table("模板.xlsx", data)
    assert table.headers == tuple(c.header for c in COLUMNS) and check_headers(table.headers) == ()
    result = plan_import(table.rows, EMPTY, TODAY, headers=table.headers)
    assert [r.status for r in result.rows] == [RowStatus.CREATE, RowStatus.CREATE]

    workbook = load_workbook(io.BytesIO(data))
    sheet, notes = workbook.worksheets
    assert sheet["A1"].font.bold and sheet["E2"].number_format == "@"
    assert sheet.column_dimensions["E"].number_format == "@"
    assert sheet.column_dimensions["E"].width >= 20
    assert notes.title == "填写说明"
    described = {row[0]: (row[1], row[2]) for row in notes.iter_rows(min_row=2, values_only=True)}
    assert described["姓名"][0] == "必填" and described["手机号"][0] == "选填"
    assert described.keys() == {c.header for c in COLUMNS}


# --- export -------------------------------------------------------------------------------------

def test_csv_export_escapes_cells_a_spreadsheet_would_run() -> None:
    rows = [["=1+1", "+86139", "-2", "@SUM(A1)", "\tx", "张三", None, True, dt.date(2026, 1, 5)]]
    data = write_csv(["a", "b", "c", "d", "e", "f", "g", "h", "i"], rows)
    assert data.startswith(b"\xef\xbb\xbf")
    read = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert read[1] == ["'=1+1", "'+86139", "'-2", "'@SUM(A1)", "'\tx", "张三", "", "是",
                       "2026-01-05"]


def test_xlsx_export_stores_formula_like_text_as_plain_strings() -> None:
    data = write_xlsx(["姓名", "备注"], [["=1+1", "正常"], ["张三", "-5"]])
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet["A2"].value == "=1+1" and sheet["A2"].data_type == "s"
    assert sheet["B3"].value == "-5" and sheet["B3"].data_type == "s"
    assert sheet["A1"].font.bold
    read = read_table("导出.xlsx", data)
    assert read.rows[0][1] == {"姓名": "=1+1", "备注": "正常"}


def test_an_exported_register_can_be_imported_again() -> None:
    headers = [c.header for c in COLUMNS]
    row = ["0101", "户主", "张建国", "男", "331102197503151239", "13900000001", "是", "", "",
           "否", "", "", ""]
    for name, data in (("r.csv", write_csv(headers, [row])),
                       ("r.xlsx", write_xlsx(headers, [row]))):
        table = read_table(name, data)
        result = plan_import(table.rows, EMPTY, TODAY, headers=table.headers)
        assert [r.status for r in result.rows] == [RowStatus.CREATE]
