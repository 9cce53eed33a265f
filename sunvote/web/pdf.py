"""The layout of every document a village prints (the documents blueprint's papers and the public
board's notice), one function per document, A4 PDFs in
Chinese (official village papers: they stay Chinese whatever the page's language). Each takes a
frozen dataclass the queries built and returns the PDF's bytes; they share the header, the
key-value table, the seal and the signature lines.

The Chinese font is EMBEDDED (a subset of the glyphs used): reportlab can embed TrueType-outline
fonts only (not CFF/OpenType such as Noto Sans CJK). SunVote ships WenQuanYi Micro Hei
(sunvote/fonts/, Apache-2.0) so a fresh ``pip install .`` prints; SUNVOTE_PDF_FONT may name another
TrueType file (.ttf, or .ttc whose first face is used). Without a readable font file the
routes refuse (``documents.font_missing``) rather than print boxes (docs/operations.md)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from flask import current_app
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Circle, Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from sunvote.domain.assembly import Choice, PollState, VoteMode
from sunvote.domain.documents import font_refusal

#: The font shipped inside the package (WenQuanYi Micro Hei 0.2.0-beta, Apache-2.0; TrueType).
SHIPPED_FONT = Path(__file__).resolve().parent.parent / "fonts" / "wqy-microhei.ttc"
FONT = "SunVoteCJK"
WIDTH = A4[0] - 36 * mm  # the text width inside 18 mm margins
GREY = colors.HexColor("#555555")
LINE = colors.HexColor("#999999")
SEAL = colors.HexColor("#c0392b")

_registered: dict[str, str] = {}


def font_path(configured: str | None) -> Path | None:
    """The font file to embed: SUNVOTE_PDF_FONT if set, else the shipped one; None if it is
    not a readable file."""
    path = Path(configured) if configured else SHIPPED_FONT
    return path if path.is_file() else None


def register_font(configured: str | None) -> str:
    """Register the embeddable Chinese font (once per file) and return its reportlab name; raise
    ``documents.font_missing`` if there is none (a file that is not TrueType counts as none)."""
    path = font_path(configured)
    refusal = font_refusal(path is not None)
    if refusal is not None:
        raise refusal
    assert path is not None
    key = str(path)
    if key not in _registered:
        name = f"{FONT}{len(_registered)}"
        try:
            face = TTFont(name, key, subfontIndex=0)
        except (TTFError, OSError):
            refusal = font_refusal(False)
            assert refusal is not None
            raise refusal from None
        pdfmetrics.registerFont(face)
        _registered[key] = name
    return _registered[key]


def app_font() -> str:
    """The app's embedded font (SUNVOTE_PDF_FONT or the shipped one), or the
    ``documents.font_missing`` refusal."""
    return register_font(current_app.config.get("PDF_FONT"))


def _table_style(font: str, commands: list[tuple[object, ...]]) -> TableStyle:
    """A table style in the embedded font: reportlab's tables otherwise set Helvetica (a font
    no PDF embeds) on the page, even when every cell is a Chinese paragraph."""
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), font), *commands])


# --- Shared pieces ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Styles:
    """The paragraph styles of every document, in the embedded font."""

    font: str
    base: ParagraphStyle
    title: ParagraphStyle
    subtitle: ParagraphStyle
    heading: ParagraphStyle
    small: ParagraphStyle
    label: ParagraphStyle
    right: ParagraphStyle
    cell: ParagraphStyle


def _styles(font: str) -> Styles:
    base = ParagraphStyle("base", fontName=font, fontSize=11.5, leading=17, wordWrap="CJK")
    return Styles(
        font=font, base=base,
        title=ParagraphStyle("title", parent=base, fontSize=24, leading=32, alignment=1,
                             spaceAfter=2 * mm),
        subtitle=ParagraphStyle("subtitle", parent=base, fontSize=13.5, leading=19, alignment=1),
        heading=ParagraphStyle("heading", parent=base, fontSize=13.5, leading=20,
                               spaceBefore=4 * mm, spaceAfter=1.5 * mm),
        small=ParagraphStyle("small", parent=base, fontSize=8.5, leading=12, textColor=GREY),
        label=ParagraphStyle("label", parent=base, textColor=colors.HexColor("#444444")),
        right=ParagraphStyle("right", parent=base, alignment=2),
        cell=ParagraphStyle("cell", parent=base, fontSize=10.5, leading=14),
    )


def _para(text: str) -> str:
    return escape(text).replace("\n", "<br/>")


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(_para(text), style)


def _qr(url: str, size: float, font: str) -> Drawing:
    widget = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, initialFontName=font,
                      transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def _header(s: Styles, title: str, township: str, village: str,
            subtitle: str = "") -> list[Flowable]:
    story: list[Flowable] = [_p(title, s.title), _p(f"{township} {village}", s.subtitle)]
    if subtitle:
        story.append(_p(subtitle, s.subtitle))
    story.append(Spacer(1, 5 * mm))
    return story


def _rows_table(s: Styles, rows: Sequence[tuple[str, str]], label_width: float = 28 * mm,
                width: float = WIDTH) -> Table:
    table = Table([[_p(k, s.label), _p(v, s.base)] for k, v in rows],
                  colWidths=[label_width, width - label_width])
    table.setStyle(_table_style(s.font, [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.HexColor("#cccccc")),
        ("TOPPADDING", (0, 0), (-1, -1), 4), ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]))
    return table


def _grid(s: Styles, header: Sequence[str], rows: Sequence[Sequence[str]],
          widths: Sequence[float], height: float | None = None) -> Table:
    data = [[_p(h, s.label) for h in header]]
    data += [[_p(str(c), s.cell) for c in row] for row in rows]
    heights = [None] + [height] * len(rows) if height else None
    table = Table(data, colWidths=list(widths), rowHeights=heights, repeatRows=1)
    table.setStyle(_table_style(s.font, [
        ("GRID", (0, 0), (-1, -1), 0.5, LINE),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f0f0")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def _seal(font: str, size: float = 34 * mm) -> Drawing:
    """A drawn circle where the village's seal goes, marked （盖章）."""
    drawing = Drawing(size, size, initialFontName=font)
    drawing.add(Circle(size / 2, size / 2, size / 2 - 2, strokeColor=SEAL, strokeWidth=1.2,
                       strokeDashArray=[3, 2], fillColor=None))
    drawing.add(String(size / 2, size / 2 - 4, "（盖章）", fontName=font, fontSize=11,
                       fillColor=SEAL, textAnchor="middle"))
    return drawing


def _signatures(s: Styles, font: str, signers: Sequence[str], seal_by: str = "",
                date: str = "") -> Flowable:
    """Signature lines (one per signer, each with its date) on the left; on the right the seal's
    circle above the body that seals (``seal_by``) and the date."""
    sign = ParagraphStyle("sign", parent=s.base, fontSize=10.5, leading=15)
    lines = [[_p(f"{who}（签名）：", sign), _p("________________", sign),
              _p("日期：____年__月__日", sign)] for who in signers]
    left: Flowable = Spacer(1, 1)
    if lines:
        left = Table(lines, colWidths=[44 * mm, 34 * mm, 42 * mm])
        left.setStyle(_table_style(s.font, [("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                                  ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                  ("TOPPADDING", (0, 0), (-1, -1), 12)]))
    right: list[Flowable] = [_seal(font)]
    if seal_by:
        right.append(_p(seal_by, ParagraphStyle("c", parent=s.base, alignment=1)))
    right.append(_p(date or "______年____月____日", ParagraphStyle("c2", parent=s.base,
                                                                alignment=1)))
    block = Table([[left, right]], colWidths=[WIDTH - 50 * mm, 50 * mm])
    block.setStyle(_table_style(s.font, [("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return KeepTogether([Spacer(1, 6 * mm), block])


def _build(story: list[Flowable], font: str, title: str, author: str, footer: str) -> bytes:
    """An A4 PDF; every page's foot says what it is and its page number."""
    buffer = io.BytesIO()

    def foot(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(GREY)
        canvas.drawString(18 * mm, 9 * mm, footer)
        canvas.drawRightString(A4[0] - 18 * mm, 9 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=16 * mm, bottomMargin=18 * mm, title=title,
                            author=author, creator="SunVote", initialFontName=font)
    doc.build(story, onFirstPage=foot, onLaterPages=foot)
    return buffer.getvalue()


# --- 公示 (the public notice of a vote's result) ---------------------------------------------


@dataclass(frozen=True)
class NoticeSheet:
    """What the notice says, already formatted (the view builds it; the HTML page and the PDF
    show the same)."""

    heading: str
    village: str
    township: str
    subtitle: str
    rows: list[tuple[str, str]]
    how_to_object: str
    url: str
    footer: str
    published: str


def notice(sheet: NoticeSheet, font: str) -> bytes:
    """The public notice (公示) of a vote's result: one A4 page with the matter's QR code."""
    s = _styles(font)
    heading = ParagraphStyle("big", parent=s.title, fontSize=30, leading=38)
    qr_size = 38 * mm
    how = Table([[_p(sheet.how_to_object, s.base), _qr(sheet.url, qr_size, font)]],
                colWidths=[WIDTH - qr_size - 6 * mm, qr_size + 6 * mm])
    how.setStyle(_table_style(s.font, [("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                             ("BOX", (0, 0), (-1, -1), 0.8, colors.HexColor("#e8590c")),
                             ("LEFTPADDING", (0, 0), (-1, -1), 8)]))
    story: list[Flowable] = [
        _p(sheet.heading, heading),
        _p(f"{sheet.township} {sheet.village}", s.subtitle),
        _p(sheet.subtitle, s.subtitle),
        Spacer(1, 6 * mm), _rows_table(s, sheet.rows), Spacer(1, 6 * mm), how,
        Spacer(1, 4 * mm), _p(sheet.url, s.small), Spacer(1, 6 * mm),
        _p(sheet.published, s.right), Spacer(1, 6 * mm), _p(sheet.footer, s.small),
    ]
    return _build(story, font, f"{sheet.heading} {sheet.village}", sheet.village,
                  f"{sheet.village} {sheet.heading}")


# --- Meeting documents -------------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingHead:
    """What every meeting document names: the village and the meeting."""

    township: str
    village: str
    number: int
    title: str
    starts: str  # local time, formatted
    place: str


@dataclass(frozen=True)
class MeetingNotice:
    """会议通知: who convened which meeting, when and where, its agenda and who attends."""

    head: MeetingHead
    agenda: list[tuple[str, str]]  # (matter number, title)
    attendees: str
    notice_rule: str
    convened: str  # local time the meeting was convened
    url: str  # the public board


def meeting_notice(doc: MeetingNotice, font: str) -> bytes:
    """The meeting notice (会议通知) for a convened meeting, with the seal and signature lines."""
    s = _styles(font)
    h = doc.head
    story: list[Flowable] = _header(s, "会议通知", h.township, h.village,
                                    f"关于召开第{h.number}次村民代表会议的通知")
    story += [
        _p("各位村民代表会议组成人员：", s.base), Spacer(1, 2 * mm),
        _p(f"经村民委员会研究，定于{h.starts}在{h.place}召开第{h.number}次村民代表会议"
           f"（{h.title}），现将有关事项通知如下。", s.base),
        Spacer(1, 3 * mm),
        _rows_table(s, [("会议名称", h.title), ("会议时间", h.starts), ("会议地点", h.place),
                        ("参加人员", doc.attendees), ("通知期限", doc.notice_rule)]),
        _p("会议议程（票决事项）", s.heading),
    ]
    if doc.agenda:
        story.append(_grid(s, ["序号", "事项编号", "事项名称"],
                           [(str(i), n, t) for i, (n, t) in enumerate(doc.agenda, 1)],
                           [14 * mm, 28 * mm, WIDTH - 42 * mm]))
    else:
        story.append(_p("（无）", s.base))
    story += [
        Spacer(1, 4 * mm),
        _p("请准时参加，不能到会的请提前向村务工作者请假。会议须有组成人员三分之二以上到会方可"
           "举行表决；事项材料可在本村公开栏查阅：" + doc.url, s.base),
        _signatures(s, font, ["通知人"], seal_by=f"{h.village}村民委员会",
                    date=f"{doc.convened}"),
    ]
    return _build(story, font, f"会议通知 {h.village} 第{h.number}次", h.village,
                  f"{h.village} 第{h.number}次村民代表会议 会议通知")


@dataclass(frozen=True)
class SigninSheet:
    """签到表: the frozen roster (or, before the meeting opens, the roster of today) with a
    signature column, and the self check-in link (the live code is read from the hall screen)."""

    head: MeetingHead
    members: list[tuple[str, str]]  # (name, roles)
    frozen: bool  # the roster the meeting froze (else: as it stands today)
    checkin_url: str


def signin_sheet(doc: SigninSheet, font: str) -> bytes:
    """The sign-in sheet (签到表): every member with a signature column, and the check-in QR."""
    s = _styles(font)
    h = doc.head
    story: list[Flowable] = _header(s, "签到表", h.township, h.village,
                                    f"第{h.number}次村民代表会议（{h.title}）")
    qr_size = 30 * mm
    note = _p("到会的组成人员请在本表签名。也可用本人已登录的手机扫描右侧二维码自助签到："
              "打开后输入会场大屏上显示的现场签到码（六位数字，每分钟更换）。"
              "不能签名的，由村务工作者在系统中登记（记为村务工作者登记）。\n"
              f"会议时间：{h.starts}　地点：{h.place}\n"
              + ("名单为会议开始时冻结的组成人员名册" if doc.frozen
                 else "名单为今日在任的组成人员，以会议开始时冻结的名册为准")
              + f"，共{len(doc.members)}人，法定到会人数以会议系统为准。", s.base)
    top = Table([[note, _qr(doc.checkin_url, qr_size, font)]],
                colWidths=[WIDTH - qr_size - 6 * mm, qr_size + 6 * mm])
    top.setStyle(_table_style(s.font, [("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                             ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    rows = [(str(i), name, roles, "", "") for i, (name, roles) in enumerate(doc.members, 1)]
    story += [top, _p(doc.checkin_url, s.small), Spacer(1, 3 * mm),
              _grid(s, ["序号", "姓名", "身份", "签名", "签到时间"], rows,
                    [12 * mm, 30 * mm, 48 * mm, WIDTH - 120 * mm, 30 * mm], height=10 * mm),
              _signatures(s, font, ["村务工作者", "村务监督委员会成员"])]
    return _build(story, font, f"签到表 {h.village} 第{h.number}次", h.village,
                  f"{h.village} 第{h.number}次村民代表会议 签到表")


#: The choices printed on a ballot and a tally sheet, in the domain's order and words (the
#: documents are Chinese: a label's message id is its Chinese text).
CHOICES = tuple(choice.label for choice in Choice)


@dataclass(frozen=True)
class PaperBallots:
    """选票 for one agenda matter: one per member, named (the member's name printed, with a
    signature line) or secret (no name anywhere, as many as members)."""

    head: MeetingHead
    matter: str
    matter_title: str
    secret: bool
    voters: list[str]  # named: every member's name; secret: ignored but for the count
    poll: int | None  # the poll's number if it is open or closed


def _mode_label(secret: bool) -> str:
    return (VoteMode.SECRET if secret else VoteMode.NAMED).label


def ballots(doc: PaperBallots, font: str) -> bytes:
    """Paper ballots (选票), three to an A4 page with cut lines between them."""
    s = _styles(font)
    h = doc.head
    mode = _mode_label(doc.secret) + "表决"
    box = ParagraphStyle("box", parent=s.base, fontSize=14, leading=20, alignment=1)
    story: list[Flowable] = []
    for i, name in enumerate(doc.voters):
        choice = Table([[_p(c, box) for c in CHOICES], ["", "", ""]],
                       colWidths=[WIDTH / 3] * 3, rowHeights=[9 * mm, 16 * mm])
        choice.setStyle(_table_style(s.font, [("GRID", (0, 0), (-1, -1), 0.8, colors.black),
                                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
        who = ("本票不记名。请勿在票上书写姓名或作任何记号。" if doc.secret else
               f"投票人：{name}　　　投票人（签名）：______________")
        ballot = [
            _p(f"选　票（{mode}）", ParagraphStyle("bt", parent=s.title, fontSize=18,
                                                   leading=24, spaceAfter=0)),
            _p(f"{h.township} {h.village}　第{h.number}次村民代表会议　{h.starts}"
               + (f"　第{doc.poll}项表决" if doc.poll else ""), s.small),
            Spacer(1, 1.5 * mm),
            _p(f"表决事项：{doc.matter}　{doc.matter_title}", s.base),
            Spacer(1, 1.5 * mm), choice, Spacer(1, 1.5 * mm),
            _p("请在同意、反对、弃权中选择一项，在其下方格内划“✓”。只能选一项；不选或多选的，"
               "按未表示同意计（弃权、未投票均不计为同意）。", s.small),
            Spacer(1, 2 * mm), _p(who, s.base),
            _p(f"第 {i + 1} 张，共 {len(doc.voters)} 张", s.small),
        ]
        story.append(KeepTogether(ballot))
        if i % 3 == 2:
            story.append(PageBreak())
        else:
            story.append(_CutLine(font))
    return _build(story, font, f"选票 {h.village} {doc.matter}", h.village,
                  f"{h.village} 第{h.number}次村民代表会议 选票（{mode}）")


class _CutLine(Flowable):
    """A dashed line to cut the ballots apart along."""

    def __init__(self, font: str) -> None:
        super().__init__()
        self.font = font
        self.width, self.height = WIDTH, 9 * mm

    def draw(self) -> None:
        canvas = self.canv
        canvas.setDash(4, 3)
        canvas.setStrokeColor(LINE)
        canvas.line(0, self.height / 2, WIDTH, self.height / 2)
        canvas.setFont(self.font, 7)
        canvas.setFillColor(GREY)
        canvas.drawRightString(WIDTH, self.height / 2 + 2, "沿虚线剪开")


@dataclass(frozen=True)
class TallySheet:
    """计票单 for one agenda matter: a row per choice with space to tally and the count; for a
    named poll a row per member too; the counters' and scrutineers' signatures."""

    head: MeetingHead
    matter: str
    matter_title: str
    secret: bool
    members: list[str]
    poll: int | None
    present: int | None  # at the poll's opening, when it has opened


def tally_sheet(doc: TallySheet, font: str) -> bytes:
    """The tally sheet (计票单) whose signed photo the clerk uploads with paper ballots."""
    s = _styles(font)
    h = doc.head
    mode = _mode_label(doc.secret) + "表决"
    story: list[Flowable] = _header(s, "计票单", h.township, h.village,
                                    f"第{h.number}次村民代表会议（{h.title}）")
    story += [
        _rows_table(s, [("表决事项", f"{doc.matter}　{doc.matter_title}"),
                        ("表决方式", mode + (f"（第{doc.poll}项表决）" if doc.poll else "")),
                        ("应到人数", f"{len(doc.members)}人"),
                        ("开始时到会", f"{doc.present}人" if doc.present is not None
                         else "______人"),
                        ("会议时间", h.starts)]),
        _p("计票结果（纸质票）", s.heading),
        _grid(s, ["选项", "划票（“正”字）", "票数"],
              [(c, "", "") for c in (*CHOICES, "无效票", "发出选票", "收回选票")],
              [30 * mm, WIDTH - 60 * mm, 30 * mm], height=11 * mm),
    ]
    if not doc.secret:
        story += [CondPageBreak(60 * mm), _p("记名表决：每位投票人的选择", s.heading),
                  _grid(s, ["序号", "姓名", "同意", "反对", "弃权", "备注"],
                        [(str(i), n, "", "", "", "") for i, n in enumerate(doc.members, 1)],
                        [12 * mm, 34 * mm, 22 * mm, 22 * mm, 22 * mm, WIDTH - 112 * mm],
                        height=8 * mm)]
    story += [
        Spacer(1, 3 * mm),
        _p("纸质票由村务工作者按本单录入系统并上传本单照片，经村务监督委员会成员（非录入人）"
           "确认后计入；本单照片的SHA-256记入账本。", s.small),
        _signatures(s, font, ["计票人", "监票人", "村务监督委员会成员"]),
    ]
    return _build(story, font, f"计票单 {h.village} {doc.matter}", h.village,
                  f"{h.village} 第{h.number}次村民代表会议 计票单（{mode}）")


@dataclass(frozen=True)
class PollMinutes:
    """One poll as the ledger records it."""

    number: int
    matter: str
    matter_title: str
    mode: str  # named / secret
    state: str  # closed / void / open
    present: int
    members: int
    rule: str
    yes: int | None = None
    no: int | None = None
    abstain: int | None = None
    recused: list[str] = field(default_factory=list)
    not_voted: int | None = None
    needed: int | None = None
    verdict: str | None = None
    void_reason: str | None = None
    named: list[tuple[str, str, str]] = field(default_factory=list)  # name, choice, channel
    tally_seq: int | None = None


@dataclass(frozen=True)
class Minutes:
    """会议记录: the meeting as its ledger records say, with the log size they were read at."""

    head: MeetingHead
    convened: str
    opened: str
    closed: str
    members: list[tuple[str, str]]  # (name, roles) frozen at opening
    attendance: list[tuple[str, str, str]]  # (name, channel, by whom) in check-in order
    absent: list[str]
    polls: list[PollMinutes]
    records: tuple[int, int]  # first and last seq of the meeting's records
    size: int  # the log size (checkpoint) they were read from
    root: str  # the tree root at that size, hex
    log_key: str
    checkpoint: str  # the signed checkpoint text at ``size``, if it is the newest


def minutes(doc: Minutes, font: str) -> bytes:
    """The minutes (会议记录) built from the ledger: attendance, each poll's result, named
    ballots by name (secret polls: totals only), and where they were read from."""
    s = _styles(font)
    h = doc.head
    story: list[Flowable] = _header(s, "会议记录", h.township, h.village,
                                    f"第{h.number}次村民代表会议（{h.title}）")
    present = len(doc.attendance)
    story += [
        _rows_table(s, [("会议时间", h.starts), ("会议地点", h.place),
                        ("召集", doc.convened), ("开始", doc.opened), ("结束", doc.closed),
                        ("到会情况", f"组成人员{len(doc.members)}人，到会{present}人，"
                                     f"缺席{len(doc.absent)}人"),
                        ("缺席人员", "、".join(doc.absent) or "无")]),
        _p("一、到会人员（按签到先后）", s.heading),
        _grid(s, ["序号", "姓名", "签到方式", "登记"],
              [(str(i), n, c, b) for i, (n, c, b) in enumerate(doc.attendance, 1)],
              [14 * mm, 40 * mm, 40 * mm, WIDTH - 94 * mm]),
        _p("二、表决情况", s.heading),
    ]
    if not doc.polls:
        story.append(_p("本次会议未进行表决。", s.base))
    for poll in doc.polls:
        block: list[Flowable] = [_p(f"第{poll.number}项　{poll.matter}　{poll.matter_title}",
                                    ParagraphStyle("ph", parent=s.base, fontSize=12.5,
                                                   leading=18, spaceBefore=2 * mm))]
        mode = VoteMode(poll.mode).label
        rows = [("表决方式", f"{mode}；开始时到会{poll.present}人，组成人员{poll.members}人"),
                ("通过规则", poll.rule + (f"，至少{poll.needed}票同意" if poll.needed else ""))]
        if poll.state == PollState.VOID:
            rows.append(("结果", f"作废，不计票：{poll.void_reason or ''}"))
        elif poll.state != PollState.CLOSED:
            rows.append(("结果", "未计票"))
        else:
            rows.append(("结果", f"{poll.verdict}：同意{poll.yes}票，反对{poll.no}票，"
                                 f"弃权{poll.abstain}票，未投票{poll.not_voted}人"
                                 + (f"，回避{len(poll.recused)}人" if poll.recused else "")))
            if poll.tally_seq is not None:
                rows.append(("账本记录", f"第{poll.tally_seq}条（计票结果）"))
        if poll.recused:
            rows.append(("回避", "、".join(poll.recused)))
        block.append(_rows_table(s, rows))
        if poll.mode == VoteMode.NAMED and poll.named:
            block.append(Spacer(1, 2 * mm))
            block.append(_grid(s, ["姓名", "选择", "投票方式"], poll.named,
                               [40 * mm, 30 * mm, WIDTH - 70 * mm]))
        elif poll.mode == VoteMode.SECRET and poll.state == PollState.CLOSED:
            block.append(_p("无记名表决：只记总数，不记每人的选择。", s.small))
        story.append(KeepTogether(block[:2]))
        story += block[2:]
    story += [
        _p("三、核验", s.heading),
        _p(f"本记录依据{h.village}账本第{doc.records[0]}至{doc.records[1]}条记录生成，"
           f"生成时账本共{doc.size}条记录（检查点大小{doc.size}），"
           f"树根（SHA-256）{doc.root}。任何人可下载本村账本，用"
           f"“sunvote ledger verify”离线核对这些记录及其签名，"
           f"账本公钥：{doc.log_key}", s.small),
    ]
    if doc.checkpoint:
        story += [Spacer(1, 2 * mm), _p("检查点：\n" + doc.checkpoint, s.small)]
    story.append(_signatures(s, font, ["记录人", "会议主持人", "村务监督委员会成员"],
                             seal_by=f"{h.village}村民委员会"))
    return _build(story, font, f"会议记录 {h.village} 第{h.number}次", h.village,
                  f"{h.village} 第{h.number}次村民代表会议 会议记录（账本{doc.size}条）")


# --- Step 6 ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatterHead:
    """What the step-6 documents name: the village and the matter."""

    township: str
    village: str
    number: str
    title: str
    category: str
    amount: str  # planned amount, formatted (or "")
    filing_no: str
    summary: str
    decided: str  # the vote's result line


@dataclass(frozen=True)
class ImplementationReport:
    """实施情况报告: the plan, each progress update (milestone, progress, spent against plan,
    who recorded and who confirmed), and where it stands."""

    head: MatterHead
    started: str
    updates: list[tuple[str, str, str, str, str, str, str]]
    # (no, time, milestone, progress, spent, recorded by, confirmed by)
    spent: str
    planned: str
    remaining: str
    state: str


def implementation_report(doc: ImplementationReport, font: str) -> bytes:
    """The implementation report (实施情况报告) of a matter under or after implementation."""
    s = _styles(font)
    h = doc.head
    story: list[Flowable] = _header(s, "实施情况报告", h.township, h.village,
                                    f"事项 {h.number}　{h.title}")
    story += [
        _p("一、实施方案", s.heading),
        _rows_table(s, [("事项类别", h.category), ("方案摘要", h.summary or "（无）"),
                        ("计划金额", h.amount or "（未填写）"), ("备案号", h.filing_no or ""),
                        ("票决结果", h.decided), ("开始实施", doc.started)]),
        _p("二、实施进度", s.heading),
    ]
    if doc.updates:
        story.append(_grid(s, ["序号", "时间", "节点", "进度", "累计支出（元）", "记录人",
                               "确认人"], doc.updates,
                           [10 * mm, 24 * mm, WIDTH - 117 * mm, 13 * mm, 24 * mm, 18 * mm,
                            28 * mm]))
    else:
        story.append(_p("尚无实施进度记录。", s.base))
    story += [
        _p("三、资金使用", s.heading),
        _rows_table(s, [("计划金额", doc.planned), ("累计支出", doc.spent),
                        ("计划余额", doc.remaining), ("当前状态", doc.state)]),
        Spacer(1, 2 * mm),
        _p("每条进度记录及其证明材料的SHA-256均记入本村账本（implementation.update），"
           "确认记入 implementation.confirm；可在本村公开栏该事项页面核对。", s.small),
        _signatures(s, font, ["报告人（村民委员会）", "村务监督委员会主任"],
                    seal_by=f"{h.village}村民委员会"),
    ]
    return _build(story, font, f"实施情况报告 {h.village} {h.number}", h.village,
                  f"{h.village} 事项{h.number} 实施情况报告")


@dataclass(frozen=True)
class CompletionCertificate:
    """验收证明: the supervisory committee's sign-off of a completed matter."""

    head: MatterHead
    completed: str  # local time of the sign-off
    signed_by: str  # the chair who signed off in SunVote
    report: str  # the sign-off's 验收意见
    spent: str
    planned: str
    updates: int
    committee: list[str]  # the supervisory committee's members today
    ledger_seq: int | None


def completion_certificate(doc: CompletionCertificate, font: str) -> bytes:
    """The completion certificate (验收证明) with the committee's signature lines."""
    s = _styles(font)
    h = doc.head
    story: list[Flowable] = _header(s, "验收证明", h.township, h.village,
                                    f"事项 {h.number}　{h.title}")
    story += [
        _p(f"经{h.village}村务监督委员会监督，事项“{h.title}”（编号{h.number}）已按村民代表会议"
           f"票决通过的方案实施完毕，于{doc.completed}验收。", s.base),
        Spacer(1, 3 * mm),
        _rows_table(s, [("事项类别", h.category), ("票决结果", h.decided),
                        ("计划金额", doc.planned), ("实际支出", doc.spent),
                        ("进度记录", f"{doc.updates}条，均经村务监督委员会确认"),
                        ("验收人", doc.signed_by), ("验收时间", doc.completed),
                        ("账本记录", f"第{doc.ledger_seq}条（验收）" if doc.ledger_seq
                         else "")]),
        _p("验收意见", s.heading), _p(doc.report or "（无）", s.base),
        _signatures(s, font, [f"村务监督委员会成员 {n}" if n else "村务监督委员会成员"
                              for n in (doc.committee or ["", "", ""])],
                    seal_by=f"{h.village}村务监督委员会"),
    ]
    return _build(story, font, f"验收证明 {h.village} {h.number}", h.village,
                  f"{h.village} 事项{h.number} 验收证明")


# --- 书面通知 (letters of the meeting notice, for members no SMS reaches) ----------------------


@dataclass(frozen=True)
class Letter:
    """One member's letter: their name, the notice's text, the page it links to, and the
    notice's number (written on the slip so that its photo is filed against the right letter)."""

    name: str
    text: str
    url: str
    reference: int


@dataclass(frozen=True)
class NoticeLetters:
    """书面通知: the meeting's letter notices, one page each."""

    head: MeetingHead
    letters: list[Letter]
    deadline: str  # the last day on which a member is reached in time


def notice_letters(doc: NoticeLetters, font: str) -> bytes:
    """One A4 page per letter: the notice's text and its link as a QR, then a slip to cut off,
    which the member signs and dates on receipt."""
    s = _styles(font)
    h = doc.head
    qr_size = 32 * mm
    story: list[Flowable] = []
    for i, letter in enumerate(doc.letters):
        if i:
            story.append(PageBreak())
        body = Table([[_p(letter.text, s.base), _qr(letter.url, qr_size, font)]],
                     colWidths=[WIDTH - qr_size - 6 * mm, qr_size + 6 * mm])
        body.setStyle(_table_style(s.font, [("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                                            ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
        slip = [_p("回　执", ParagraphStyle("slip", parent=s.title, fontSize=18, leading=24)),
                _p(f"本人{letter.name}已收到{h.village}第{h.number}次村民代表会议（{h.title}）"
                   f"的书面通知。会议时间：{h.starts}，地点：{h.place}。", s.base),
                Spacer(1, 8 * mm),
                _p("收件人（签名）：________________　　签收日期：______年____月____日", s.base),
                Spacer(1, 4 * mm),
                _p(f"通知编号：{letter.reference}　请在{doc.deadline}前签收；"
                   "村务工作者将签字回执拍照上传系统存档。", s.small)]
        story += [*_header(s, "会议通知", h.township, h.village,
                           f"第{h.number}次村民代表会议"),
                  _p(f"{letter.name}：", s.base), Spacer(1, 2 * mm), body,
                  _p(letter.url, s.small), Spacer(1, 4 * mm),
                  _signatures(s, font, [], seal_by=f"{h.village}村民委员会"),
                  Spacer(1, 6 * mm), _CutLine(font), KeepTogether(slip)]
    if not story:
        story = _header(s, "会议通知", h.township, h.village, f"第{h.number}次村民代表会议")
        story.append(_p("本次会议没有需要打印的书面通知。", s.base))
    return _build(story, font, f"书面通知 {h.village} 第{h.number}次", h.village,
                  f"{h.village} 第{h.number}次村民代表会议 书面通知")
