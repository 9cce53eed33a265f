"""Machine-to-machine endpoints.

- POST /witness/<township>/add-checkpoint (c2sp.org/tlog-witness). No session and no CSRF token:
  the request is authenticated by the log's own signature on the checkpoint.
- The JSON API over the matter pages' use cases, for scripts and tests (a logged-in session;
  the CSRF token in the X-CSRFToken header): GET a matter, and one POST URL per action,
  ``/api/v1/villages/<code>/matters/<number>/actions/<action>`` with ``<action>`` a
  procedure.Action value and a JSON object of fields (and optionally "version")."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_login import login_required

from sunvote.domain.errors import N_, InvalidField
from sunvote.domain.procedure import Action
from sunvote.extensions import csrf
from sunvote.models import Matter
from sunvote.services import matters as matter_service
from sunvote.services import witness
from sunvote.web.pages import load_matter, person_id

bp = Blueprint("api", __name__)

MAX_REQUEST = 64 * 1024  # a checkpoint and at most 64 hashes fit easily


@bp.route("/witness/<township_code>/add-checkpoint", methods=["POST"])
@csrf.exempt
def add_checkpoint(township_code: str) -> Response:
    body = request.get_data(cache=False)[: MAX_REQUEST + 1]
    if len(body) > MAX_REQUEST:
        return Response("request too large\n", status=413, mimetype="text/plain")
    result = witness.add_checkpoint(township_code, body)
    return Response(result.body, status=result.status, content_type=result.content_type)


# --- The JSON API of matters ---------------------------------------------------------------------

MATTER = "/api/v1/villages/<code>/matters/<number>"


def matter_json(matter: Matter) -> dict[str, Any]:
    return {
        "village": matter.village.code, "number": matter.number, "title": matter.title,
        "category": matter.category, "state": matter.state, "amount_fen": matter.amount_fen,
        "filing_no": matter.filing_no, "version": matter.version,
        "steps": [{"seq": r.seq, "step": r.step, "action": r.action, "from": r.from_state,
                   "to": r.to_state, "actor": r.actor.name, "role": r.actor_role,
                   "at": r.acted_at.isoformat(), "data": r.data,
                   "attachments": [{"filename": a.filename, "sha256": a.sha256, "size": a.size}
                                   for a in r.attachments]}
                  for r in matter.steps],
    }


@bp.route(MATTER)
@login_required
def matter(code: str, number: str):
    _, m, _ = load_matter(code, number)
    return jsonify(matter_json(m))


def _fields() -> tuple[dict[str, Any], int | None]:
    """The request's JSON object of fields, and its "version" (taken out of the fields)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidField("input.invalid", N_("请求内容必须是JSON对象"))
    version = body.pop("version", None)
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise InvalidField("input.invalid", N_("version必须是整数"))
    return body, version


def _act(code: str, number: str, action: Action):
    """Take ``action`` on the matter with the request's fields; the matter as JSON."""
    _, m, _ = load_matter(code, number)
    fields, version = _fields()
    return jsonify(matter_json(matter_service.act(m.id, action, person_id(), fields,
                                                  expected_version=version)))


@bp.route(f"{MATTER}/actions/propose", methods=["POST"])
@login_required
def propose(code: str, number: str):
    return _act(code, number, Action.PROPOSE)


@bp.route(f"{MATTER}/actions/propose_and_discuss", methods=["POST"])
@login_required
def propose_and_discuss(code: str, number: str):
    return _act(code, number, Action.PROPOSE_AND_DISCUSS)


@bp.route(f"{MATTER}/actions/discuss", methods=["POST"])
@login_required
def discuss(code: str, number: str):
    return _act(code, number, Action.DISCUSS)


@bp.route(f"{MATTER}/actions/drop", methods=["POST"])
@login_required
def drop(code: str, number: str):
    return _act(code, number, Action.DROP)


@bp.route(f"{MATTER}/actions/file", methods=["POST"])
@login_required
def file(code: str, number: str):
    return _act(code, number, Action.FILE)


@bp.route(f"{MATTER}/actions/return", methods=["POST"])
@login_required
def return_(code: str, number: str):
    return _act(code, number, Action.RETURN)


@bp.route(f"{MATTER}/actions/withdraw", methods=["POST"])
@login_required
def withdraw(code: str, number: str):
    return _act(code, number, Action.WITHDRAW)


@bp.route(f"{MATTER}/actions/flag_breach", methods=["POST"])
@login_required
def flag_breach(code: str, number: str):
    return _act(code, number, Action.FLAG_BREACH)


@bp.route(f"{MATTER}/actions/start_implementation", methods=["POST"])
@login_required
def start_implementation(code: str, number: str):
    return _act(code, number, Action.START_IMPLEMENTATION)


@bp.route(f"{MATTER}/actions/complete", methods=["POST"])
@login_required
def complete(code: str, number: str):
    return _act(code, number, Action.COMPLETE)


@bp.route(f"{MATTER}/actions/refuse_completion", methods=["POST"])
@login_required
def refuse_completion(code: str, number: str):
    return _act(code, number, Action.REFUSE_COMPLETION)


@bp.route(f"{MATTER}/actions/repropose", methods=["POST"])
@login_required
def repropose(code: str, number: str):
    """A rejected matter proposed again: the new matter as JSON ("version" is not asked)."""
    _, m, _ = load_matter(code, number)
    fields, _version = _fields()
    return jsonify(matter_json(matter_service.repropose(m.id, person_id(), fields)))


@bp.route(f"{MATTER}/actions/suggest", methods=["POST"])
@login_required
def suggest(code: str, number: str):
    """No person takes this step here (a matter opens from the suggestions page): the
    procedure's own refusal, as for any step not allowed now."""
    return _act(code, number, Action.SUGGEST)


@bp.route(f"{MATTER}/actions/record_vote", methods=["POST"])
@login_required
def record_vote(code: str, number: str):
    """No person takes this step here (the assembly's poll records it): the procedure's own
    refusal, as for any step not allowed now."""
    return _act(code, number, Action.RECORD_VOTE)


@bp.route(f"{MATTER}/actions/<action>", methods=["POST"])
@login_required
def unknown_action(code: str, number: str, action: str):
    """Any other action (a typo): refused with ``input.invalid`` (400) and the JSON error a
    script reads, not a bare 404."""
    load_matter(code, number)
    raise InvalidField("input.invalid", N_("没有这种操作：%(action)s"), action=action[:30])
