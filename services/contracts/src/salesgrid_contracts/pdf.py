"""PDF rendering of printed documents (domain/documents.py) with ReportLab.

Chinese text uses ReportLab's built-in CID font STSong-Light (Adobe's Asian font pack names it;
readers bring the glyphs), so no system font is assumed and nothing is embedded. The output is
deterministic (`invariant`): the same document and copy number give the same bytes.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from salesgrid_contracts.domain.documents import Document, Letterhead, copy_mark

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

_TEXT = ParagraphStyle("text", fontName=FONT, fontSize=10, leading=14, wordWrap="CJK")
_TITLE = ParagraphStyle("title", parent=_TEXT, fontSize=16, leading=22, alignment=1, spaceAfter=6)
_SMALL = ParagraphStyle("small", parent=_TEXT, fontSize=8, leading=11, textColor=colors.grey)


def _p(text: str, style: ParagraphStyle = _TEXT) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def render(document: Document, letterhead: Letterhead, copy_number: int = 0) -> bytes:
    """The document as PDF bytes; copies (copy_number > 0) carry the COPY mark on every page."""
    mark = copy_mark(copy_number)
    width, height = A4

    def decorate(canvas: Canvas, _doc: object) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 14)
        canvas.drawString(20 * mm, height - 18 * mm, letterhead.company_name)
        canvas.setFont(FONT, 8)
        contact = "  ".join(part for part in (letterhead.address, letterhead.phone) if part)
        if contact:
            canvas.drawString(20 * mm, height - 23 * mm, contact)
        canvas.drawRightString(width - 20 * mm, height - 18 * mm, document.number)
        canvas.setLineWidth(0.6)
        canvas.line(20 * mm, height - 26 * mm, width - 20 * mm, height - 26 * mm)
        canvas.drawCentredString(width / 2, 12 * mm, f"{document.number} · {canvas.getPageNumber()}")
        if mark:
            canvas.setFillColor(colors.red)
            canvas.setFont(FONT, 12)
            canvas.drawRightString(width - 20 * mm, height - 23 * mm, mark)
            canvas.setFillColor(colors.Color(1, 0, 0, alpha=0.18))
            canvas.setFont(FONT, 72)
            canvas.translate(width / 2, height / 2)
            canvas.rotate(35)
            canvas.drawCentredString(0, 0, "副本 COPY")
        canvas.restoreState()

    story: list[object] = [_p(document.title, _TITLE)]
    fields = Table([[_p(r.label), _p(r.value)] for r in document.fields], colWidths=[55 * mm, 115 * mm])
    fields.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey)])
    )
    story += [fields, Spacer(1, 6 * mm)]
    if document.table is not None:
        grid = Table(
            [[_p(h) for h in document.table.header], *[[_p(c) for c in r] for r in document.table.rows]], repeatRows=1
        )
        grid.setStyle(
            TableStyle(
                [("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)]
            )
        )
        story += [grid, Spacer(1, 6 * mm)]
    if document.body:
        story += [_p(paragraph) for paragraph in document.body.split("\n\n")]
        story.append(Spacer(1, 6 * mm))
    if document.footer:
        story.append(_p(document.footer, _SMALL))
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        topMargin=32 * mm,
        bottomMargin=20 * mm,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        title=f"{document.title} {document.number}",
        author=letterhead.company_name,
        invariant=1,
    ).build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()
