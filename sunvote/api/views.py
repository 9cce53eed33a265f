"""POST /witness/<township>/add-checkpoint (c2sp.org/tlog-witness). No session and no CSRF
token: the request is authenticated by the log's own signature on the checkpoint."""

from __future__ import annotations

from flask import Blueprint, Response, request

from sunvote.extensions import csrf
from sunvote.services import witness

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
