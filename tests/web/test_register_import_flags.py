"""The register import's preview (issue 18): a phone number no SMS reaches is flagged on its row
and counted, not refused; a malformed e-mail address refuses its row naming the rule."""

from __future__ import annotations

import io
import re

from flask import Flask

from tests.conftest import csrf_token as token
from tests.roster_files import csv_bytes, roster_rows

PAGE = "/v/sunshine/register/import"


def test_the_preview_flags_numbers_no_sms_reaches_and_refuses_a_bad_email(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk")
    rows = roster_rows(6)
    rows[1]["phone"] = "12000000001"
    rows[2]["email"] = "zhang@example"
    rows[4]["email"] = "li@example.cn"
    preview = client.post(PAGE, data={"csrf_token": token(client, PAGE),
                                      "file": (io.BytesIO(csv_bytes(rows)), "名册.csv")},
                          content_type="multipart/form-data")
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "1行的手机号收不到短信" in page
    flagged = re.search(r'<tr class="row-create"><td>3</td>.*?</tr>', page, re.S)
    assert flagged is not None
    assert "“12000000001”不是可以接收短信的手机号" in flagged.group(0)
    assert "notice.sms_number" in flagged.group(0)
    refused = re.search(r'<tr class="row-reject"><td>4</td>.*?</tr>', page, re.S)
    assert refused is not None and "电子邮箱格式不正确" in refused.group(0)
    assert page.count('class="row-create"') == 5
    english = client.post(PAGE + "?lang=en", data={
        "csrf_token": token(client, PAGE), "file": (io.BytesIO(csv_bytes(rows)), "名册.csv")},
        content_type="multipart/form-data").get_data(as_text=True)
    assert "cannot receive SMS" in english
