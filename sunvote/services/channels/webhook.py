"""A JSON POST to a group robot's webhook, as the DingTalk and WeCom robots take it (standard
library only: two small documented protocols)."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

from sunvote.services.channels.base import Outcome, retry


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
