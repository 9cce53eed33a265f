"""The oversight dashboard: the district's (/admin/oversight), a township's (/t/<code>/oversight),
a village's drill-down, and their CSV / XLSX exports. Views parse, call one service, render."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup

from sunvote.domain.errors import N_, InvalidField
from sunvote.domain.matters import CATEGORIES_BY_CODE
from sunvote.domain.oversight import PENDING_WARNINGS, Colour, Target, TargetKind
from sunvote.domain.pagination import PageRequest, check_page_exists, pages, parse_page
from sunvote.domain.procedure import MatterState
from sunvote.models.base import utcnow
from sunvote.oversight.charts import Bar, bar_chart
from sunvote.services import oversight as service
from sunvote.web import matter_filter
from sunvote.web.pages import XLSX, file_response, person_id, township_or_404, village_or_404

bp = Blueprint("oversight", __name__)


def target_url(target: Target) -> str:
    """The page a warning links to."""
    if target.kind is TargetKind.MATTER:
        return url_for("matters.matter", code=target.village, number=target.ref)
    if target.kind is TargetKind.MEETING:
        return url_for("assembly.room", code=target.village, number=int(target.ref or 0))
    if target.kind is TargetKind.LEDGER:
        return url_for("supervision.ledger_page", code=target.village)
    if target.kind is TargetKind.MEETINGS:
        return url_for("assembly.meetings", code=target.village)
    return url_for("admin.register", code=target.village)


def charts(board: service.Dashboard) -> dict[str, Markup]:
    """The dashboard's charts: warnings by colour, matters by state and by category, meetings
    held per quarter."""
    states = board.by_state()
    categories = board.by_category()
    meetings = board.meetings_by_quarter()
    return {
        "warnings": bar_chart([Bar(_(c.label), board.colour_count(c.value), f"bar-{c.value}")
                               for c in Colour], _("预警数")),
        "states": bar_chart([Bar(_(s.label), states.get(s.value, 0))
                             for s in MatterState if s is not MatterState.NEW],
                            _("各状态事项数")),
        "categories": bar_chart([Bar(_("第%(n)s类", n=code), categories.get(code, 0))
                                 for code in CATEGORIES_BY_CODE], _("各类别事项数")),
        "quarters": bar_chart([Bar(_("%(year)s年第%(q)s季度", year=y, q=q), n)
                               for (y, q), n in meetings.items()], _("各季度召开的村民代表会议")),
    }


#: Warnings listed per page (a district's run to hundreds; the CSV export has them all).
WARNINGS_PER_PAGE = 50


@dataclass(frozen=True)
class WarningsAsked:
    """Which warnings the page lists: ``?colour=`` (red, yellow, blue; all if absent) and
    ``?page=``. Read before the dashboard is built, so a malformed one costs nothing."""

    colour: Colour | None
    page: PageRequest

    @classmethod
    def from_request(cls) -> WarningsAsked:
        """Refuse, naming the rule, a colour that does not exist or a page that is not a whole
        number from 1."""
        colour = request.args.get("colour") or None
        if colour is not None and colour not in {c.value for c in Colour}:
            raise InvalidField("input.invalid", N_("没有这种预警颜色：%(colour)s"),
                               colour=colour[:20])
        return cls(Colour(colour) if colour else None,
                   parse_page(request.args.get("page"), str(WARNINGS_PER_PAGE)))

    def listed(self, board: service.Dashboard) -> dict[str, object]:
        """The page of warnings for the template; a page past the last is refused."""
        warnings = board.warnings_of(self.colour)
        check_page_exists(self.page, len(warnings))
        start = self.page.offset
        return {"colour": self.colour, "page": self.page.page, "per_page": self.page.per_page,
                "pages": pages(len(warnings), self.page.per_page),
                "warnings_total": len(warnings),
                "warnings_page": warnings[start:start + self.page.per_page]}


def _render(board: service.Dashboard, asked: WarningsAsked, title: str, export_endpoint: str,
            **kw: object) -> str:
    return render_template("oversight/dashboard.html", board=board, title=title,
                           charts=charts(board), target_url=target_url, Colour=Colour,
                           MatterState=MatterState, PENDING=PENDING_WARNINGS,
                           export_endpoint=export_endpoint, **asked.listed(board), **kw)


@bp.route("/admin/oversight")
@login_required
def district():
    """Every village of the district at a glance, with its warnings."""
    asked = WarningsAsked.from_request()
    board = service.district_dashboard(person_id(), utcnow())
    return _render(board, asked, _("全区预警与汇总"), "oversight.district_export",
                   export_args={})


@bp.route("/t/<code>/oversight")
@login_required
def township(code: str):
    """The township's villages at a glance, with their warnings."""
    t = township_or_404(code)
    asked = WarningsAsked.from_request()
    board = service.township_dashboard(person_id(), t, utcnow())
    return _render(board, asked, _("%(name)s预警与汇总", name=t.name),
                   "oversight.township_export",
                   export_args={"code": t.code}, township=t)


@bp.route("/t/<code>/oversight/v/<village_code>")
@login_required
def village(code: str, village_code: str):
    """One village: its figures, warnings and open matters with how long each has waited."""
    t = township_or_404(code)
    v = village_or_404(village_code)
    if v.township_id != t.id:
        abort(404)
    asked = WarningsAsked.from_request()
    board = service.village_dashboard(person_id(), v, utcnow())
    return _render(board, asked, _("%(name)s预警与汇总", name=v.name),
                   "oversight.village_export",
                   export_args={"code": t.code, "village_code": v.code}, township=t,
                   village=v, now=board.now)


#: Matters per page of the oversight matter lists.
MATTERS_PER_PAGE = 50


@bp.route("/admin/oversight/matters")
@login_required
def district_matters():
    """Every matter of the district, filtered and paged (``?category=&year=&state=&q=&page=``)."""
    listing, status = matter_filter.listed(
        matter_filter.asked(MATTERS_PER_PAGE),
        lambda f: service.district_matters(person_id(), utcnow(), f))
    return render_template("oversight/matters.html", title=_("全区事项查询"), **listing), status


@bp.route("/t/<code>/oversight/matters")
@login_required
def township_matters(code: str):
    """Every matter of the township's villages, filtered and paged."""
    t = township_or_404(code)
    listing, status = matter_filter.listed(
        matter_filter.asked(MATTERS_PER_PAGE),
        lambda f: service.township_matters(person_id(), t, utcnow(), f))
    return render_template("oversight/matters.html", title=_("%(name)s事项查询", name=t.name),
                           township=t, **listing), status


def _export(board: service.Dashboard, ext: str, what: str, name: str) -> Response:
    if ext == "csv" and what in ("villages", "warnings"):
        data, mimetype = service.export_csv(board, what), "text/csv; charset=utf-8"
        filename = f"{name}{'预警' if what == 'warnings' else '汇总'}.csv"
    elif ext == "xlsx" and what == "villages":
        data, mimetype, filename = service.export_xlsx(board), XLSX, f"{name}汇总.xlsx"
    else:
        abort(404)
    return file_response(data, filename, mimetype)


@bp.route("/admin/oversight/<what>.<ext>")
@login_required
def district_export(what: str, ext: str):
    """villages.csv, warnings.csv or villages.xlsx (both sheets) for the whole district."""
    return _export(service.district_dashboard(person_id(), utcnow()), ext, what, "全区")


@bp.route("/t/<code>/oversight/<what>.<ext>")
@login_required
def township_export(code: str, what: str, ext: str):
    t = township_or_404(code)
    return _export(service.township_dashboard(person_id(), t, utcnow()), ext, what, t.name)


@bp.route("/t/<code>/oversight/v/<village_code>/<what>.<ext>")
@login_required
def village_export(code: str, village_code: str, what: str, ext: str):
    t = township_or_404(code)
    v = village_or_404(village_code)
    if v.township_id != t.id:
        abort(404)
    return _export(service.village_dashboard(person_id(), v, utcnow()), ext, what, v.name)
