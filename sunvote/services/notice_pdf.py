"""The printable public notice (公示) of a vote's result as an A4 PDF, for the village's notice
board: reportlab with its built-in CID font STSong-Light (Adobe's Song, which every PDF reader
has), so no font file is shipped or needed on a fresh machine."""

from __future__ import annotations

import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"


@dataclass(frozen=True)
class NoticeSheet:
    """What the notice says, already translated and formatted (the view builds it; the HTML
    page and the PDF show the same)."""

    heading: str
    village: str
    township: str
    subtitle: str
    rows: list[tuple[str, str]]
    how_to_object: str
    url: str
    footer: str
    published: str


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _para(text: str) -> str:
    return escape(text).replace("\n", "<br/>")


def _qr(url: str, size: float) -> Drawing:
    widget = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def render_notice_pdf(sheet: NoticeSheet) -> bytes:
    """The notice as one A4 page (more if the plan summary is long)."""
    font = _font()
    base = ParagraphStyle("base", fontName=font, fontSize=11.5, leading=17, wordWrap="CJK")
    heading = ParagraphStyle("heading", parent=base, fontSize=30, leading=38, alignment=1,
                             spaceAfter=2 * mm)
    subtitle = ParagraphStyle("subtitle", parent=base, fontSize=15, leading=21, alignment=1)
    small = ParagraphStyle("small", parent=base, fontSize=8.5, leading=12,
                           textColor=colors.HexColor("#555555"))
    label = ParagraphStyle("label", parent=base, textColor=colors.HexColor("#444444"))
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=16 * mm, bottomMargin=16 * mm,
                            title=f"{sheet.heading} {sheet.village}", author=sheet.village)
    width = A4[0] - 36 * mm
    table = Table([[Paragraph(_para(k), label), Paragraph(_para(v), base)]
                   for k, v in sheet.rows], colWidths=[28 * mm, width - 28 * mm])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.HexColor("#cccccc")),
        ("TOPPADDING", (0, 0), (-1, -1), 4), ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]))
    qr_size = 38 * mm
    how = Table([[Paragraph(_para(sheet.how_to_object), base), _qr(sheet.url, qr_size)]],
                colWidths=[width - qr_size - 6 * mm, qr_size + 6 * mm])
    how.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                             ("BOX", (0, 0), (-1, -1), 0.8, colors.HexColor("#e8590c")),
                             ("LEFTPADDING", (0, 0), (-1, -1), 8)]))
    story = [
        Paragraph(_para(sheet.heading), heading),
        Paragraph(_para(f"{sheet.township} {sheet.village}"), subtitle),
        Paragraph(_para(sheet.subtitle), subtitle),
        Spacer(1, 6 * mm), table, Spacer(1, 6 * mm), how, Spacer(1, 4 * mm),
        Paragraph(_para(sheet.url), small),
        Spacer(1, 6 * mm),
        Paragraph(_para(sheet.published), ParagraphStyle("right", parent=base, alignment=2)),
        Spacer(1, 8 * mm),
        Paragraph(_para(sheet.footer), small),
    ]
    doc.build(story)
    return buffer.getvalue()
