"""A JSON POST to a group robot's webhook, as the DingTalk and WeCom robots take it (standard
library only: two small documented protocols)."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

from sunvote.services.channels.base import Outcome, rejected, retry, sent


def post_json(url: str, payload: dict[str, Any], timeout: float,
              name: str) -> dict[str, Any] | Outcome:
    """The robot's JSON answer, or a retry outcome (timeout, connection refused, 5xx, 429)."""
    request = urllib.request.Request(
        url, data=json.dumps(payload, ensure_ascii=False).encode(), method="POST",
        headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        return retry(f"{name} HTTP {exc.code}")
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        return retry(f"{name} {type(exc).__name__}: {exc}")
    try:
        answer = json.loads(body)
    except ValueError:
        return retry(f"{name}: answer is not JSON")
    return answer if isinstance(answer, dict) else retry(f"{name}: unexpected answer")


def post_text(url: str, message: str, timeout: float, name: str,
              retry_errcodes: frozenset[int]) -> Outcome:
    """Post a text message to a group robot (both robots take ``{"msgtype": "text", …}`` and
    answer ``{"errcode": 0, "errmsg": "ok"}``): sent on errcode 0, retried on a busy or
    over-limit code, rejected otherwise."""
    answer = post_json(url, {"msgtype": "text", "text": {"content": message}}, timeout, name)
    if isinstance(answer, Outcome):
        return answer
    code = answer.get("errcode")
    if code == 0:
        return sent(None)
    detail = f"{name} {code}: {answer.get('errmsg')}"
    return retry(detail) if code in retry_errcodes else rejected(detail)
