"""GET /api/public/…: read-only public JSON, no login; /api/openapi.json describes it. Errors
are JSON naming the rule in Chinese and English (web/errors.py answers JSON under /api/)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from sunvote.domain.pagination import PageRequest, parse_page
from sunvote.opendata.openapi import openapi_document
from sunvote.services import opendata as service
from sunvote.services.matters import matter_by_number
from sunvote.web.links import base_url
from sunvote.web.pages import village_or_404

bp = Blueprint("opendata", __name__)


def _page() -> PageRequest:
    return parse_page(request.args.get("page"), request.args.get("per_page"))


@bp.route("/api/public/villages")
def villages():
    return jsonify(service.villages(_page()))


@bp.route("/api/public/villages/<code>")
def village(code: str):
    return jsonify(service.village(village_or_404(code)))


@bp.route("/api/public/villages/<code>/matters")
def matters(code: str):
    v = village_or_404(code)
    return jsonify(service.matters(v, _page()))


@bp.route("/api/public/villages/<code>/matters/<number>")
def matter(code: str, number: str):
    return jsonify(service.matter(matter_by_number(village_or_404(code), number)))


@bp.route("/api/public/villages/<code>/polls")
def polls(code: str):
    v = village_or_404(code)
    return jsonify(service.polls(v, _page()))


@bp.route("/api/public/villages/<code>/checkpoint")
def checkpoint(code: str):
    return jsonify(service.checkpoint(village_or_404(code)))


@bp.route("/api/public/checkpoints")
def checkpoints():
    return jsonify(service.checkpoints(_page()))


@bp.route("/api/openapi.json")
def openapi():
    return jsonify(openapi_document(base_url()))
