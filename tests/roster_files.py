"""Generated village rosters in the import template: households of 2–5 people with valid ID
numbers, phone numbers and one representative per ~10 households (for tests and benchmarks)."""

from __future__ import annotations

import csv
import io
import random

from openpyxl import Workbook

from sunvote.domain.register_import import COLUMNS

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国红梅玉兰志强海燕春梅"
RELATIONS = ["配偶", "子女", "子女", "父母", "孙子女"]


def id_number(rng: random.Random, female: bool) -> str:
    """A resident ID number with a real birth date and its GB 11643-1999 check character."""
    year = rng.randint(1940, 2005)
    body = (f"331102{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            f"{rng.randint(10, 99)}{rng.choice('02468' if female else '13579')}")
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(body))
    return body + "10X98765432"[total % 11]


def roster_rows(count: int, seed: int = 7, rep_start: str = "2026-01-01") -> list[dict[str, str]]:
    """``count`` rows keyed by column key."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    used: set[str] = set()
    household = 0
    while len(rows) < count:
        household += 1
        size = min(rng.randint(2, 5), count - len(rows))
        group = f"第{(household - 1) // 40 + 1}村民小组"
        for member in range(size):
            female = rng.random() < 0.5
            rep = member == 0 and household % 10 == 1
            number = id_number(rng, female)
            while number in used:
                number = id_number(rng, female)
            used.add(number)
            rows.append({
                "household": f"{household:04d}",
                "relation": "户主" if member == 0 else rng.choice(RELATIONS),
                "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN)
                                                                    if rng.random() < .6
                                                                    else ""),
                "sex": "女" if female else "男",
                "id_number": number,
                "phone": f"13{rng.randint(100000000, 999999999)}" if rng.random() < .7 else "",
                "party_member": "是" if rng.random() < .1 else "否",
                "group": group if member == 0 else "",
                "address": f"阳光路{household}号" if member == 0 else "",
                "representative": "是" if rep else "否",
                "households_represented": str(rng.randint(8, 12)) if rep else "",
                "rep_starts_on": rep_start if rep else "",
                "rep_ends_on": "",
            })
    return rows


def as_table(rows: list[dict[str, str]]) -> list[list[str]]:
    """Header row and data rows in template column order."""
    return [[c.header for c in COLUMNS]] + [[r.get(c.key, "") for c in COLUMNS] for r in rows]


def csv_bytes(rows: list[dict[str, str]], encoding: str = "utf-8-sig") -> bytes:
    """The rows as a CSV file in ``encoding`` (utf-8-sig as Excel saves it, or gbk)."""
    out = io.StringIO()
    csv.writer(out).writerows(as_table(rows))
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[dict[str, str]]) -> bytes:
    """The rows as an XLSX workbook, ID and phone columns as text."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in as_table(rows):
        sheet.append(row)
    for cells in sheet.iter_rows():
        for cell in cells:
            cell.number_format = "@"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
