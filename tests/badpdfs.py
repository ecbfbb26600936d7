"""Builders of bad inputs, made with real PDF tools (pikepdf, reportlab) at test time."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import pikepdf
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from .conftest import NATO_EU_2019


def empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def png_renamed(path: Path) -> Path:
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 200)
    return path


def html_renamed(path: Path) -> Path:
    path.write_bytes(b"<!DOCTYPE html><html><head><title>Not found</title></head><body>404</body></html>")
    return path


def text_renamed(path: Path) -> Path:
    """Plain text named ``.pdf`` (TeX Live ships a dvips configuration file ``config.pdf``)."""
    path.write_text("% This is a config file for dvips, meant to produce PostScript optimized\n% for distilling.\np +config.ps\n")
    return path


def truncated(path: Path) -> Path:
    data = NATO_EU_2019.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


def broken_xref(path: Path) -> Path:
    """The sample with its cross-reference table and trailer overwritten by garbage."""
    data = bytearray(NATO_EU_2019.read_bytes())
    start = data.rfind(b"xref")
    data[start:] = b"xref\n0 zz\ngarbage garbage\ntrailer\n<< /Size oops >>\nstartxref\n999999999\n%%EOF\n"
    path.write_bytes(bytes(data))
    return path


def encrypted_user_password(path: Path) -> Path:
    with pikepdf.open(NATO_EU_2019) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(user="secret", owner="owner-secret", R=6))
    return path


def encrypted_owner_only(path: Path) -> Path:
    """Opens without a password (empty user password); only editing is restricted."""
    with pikepdf.open(NATO_EU_2019) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(user="", owner="owner-secret", R=6,
                                                     allow=pikepdf.Permissions(modify_other=False)))
    return path


def image_only(path: Path) -> Path:
    """A 'scan': one page with a drawn image of text and no text layer."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(["NATO and the European Union (EU) are essential partners", "who share common values."]):
        draw.text((120, 200 + 40 * i), line, fill=0)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    buf.seek(0)
    from reportlab.lib.utils import ImageReader

    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    c.drawImage(ImageReader(buf), 0, 0, width=A4[0], height=A4[1])
    c.showPage()
    c.save()
    return path


def many_pages(path: Path, pages: int = 2000) -> Path:
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=(595, 842))
    pdf.save(path)
    return path


def decompression_bomb(path: Path, inflated_mb: int = 2048) -> Path:
    """A page whose content stream is zeros compressed twice: a few kB that inflate to
    ``inflated_mb`` megabytes."""
    once = zlib.compressobj(1)
    chunk = b"\0" * (1 << 24)
    parts = [once.compress(chunk) for _ in range(inflated_mb // 16)]
    parts.append(once.flush())
    twice = zlib.compress(b"".join(parts), 9)
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    stream = pikepdf.Stream(pdf, twice)
    stream.Filter = pikepdf.Array([pikepdf.Name.FlateDecode, pikepdf.Name.FlateDecode])
    pdf.pages[0].obj.Contents = pdf.make_indirect(stream)
    pdf.save(path, compress_streams=False)
    return path


def zero_pages(path: Path) -> Path:
    """A well-formed PDF whose page tree is empty (``/Count 0``)."""
    pdf = pikepdf.new()
    pdf.save(path)
    return path


#: The text of the builders' pages of prose.
PROSE = [
    "NATO and the European Union are essential partners",
    "who share common values and strategic interests.",
    "They work side by side in crisis management,",
    "capability development and political consultations.",
]


def no_unicode_map(path: Path) -> Path:
    """A page whose text renders well but cannot be read: each font is a Type3 font with its
    own glyph names (``/g1``, ``/g2``, ...) and codes (1, 2, ... in order of first use) and no
    ``/ToUnicode`` map, as some PDF printers and TeX bitmap fonts write them. pdfminer gives
    ``(cid:1)(cid:2)...``; a renderer (and OCR) sees the text. Each glyph is drawn by showing the
    letter in the reportlab page's original standard font."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    readable = prose(path.with_name(path.stem + "-readable.pdf"))
    with pikepdf.open(readable) as pdf:
        page = pdf.pages[0]
        fonts = page.Resources.Font
        codes: dict[str, dict[int, int]] = {}  # font resource -> original byte -> new code
        content = []
        font = ""
        for operands, op in pikepdf.parse_content_stream(page):
            if op == pikepdf.Operator("Tf"):
                font = str(operands[0])
            elif op == pikepdf.Operator("Tj"):
                recode = codes.setdefault(font, {})
                operands = [pikepdf.String(bytes(recode.setdefault(b, len(recode) + 1) for b in bytes(operands[0])))]
            content.append((operands, op))
        page.Contents = pdf.make_stream(pikepdf.unparse_content_stream(content))
        for name, recode in codes.items():
            base = str(fonts[name].BaseFont)[1:]
            procs = pikepdf.Dictionary()
            widths = []
            for byte, code in sorted(recode.items(), key=lambda kv: kv[1]):
                char = bytes([byte]).decode("cp1252")
                width = round(stringWidth(char, base, 1000))
                widths.append(width)
                shown = char.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
                procs[f"/g{code}"] = pdf.make_stream(f"{width} 0 d0 BT /F 1000 Tf ({shown}) Tj ET".encode("cp1252"))
            n = len(recode)
            fonts[name] = pdf.make_indirect(pikepdf.Dictionary(
                Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type3, FontBBox=[0, -250, 1000, 1000],
                FontMatrix=[0.001, 0, 0, 0.001, 0, 0], CharProcs=procs, FirstChar=1, LastChar=n, Widths=widths,
                Encoding=pikepdf.Dictionary(Type=pikepdf.Name.Encoding,
                                            Differences=[1, *(pikepdf.Name(f"/g{i}") for i in range(1, n + 1))]),
                Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F=pikepdf.Dictionary(
                    Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name("/" + base),
                    Encoding=pikepdf.Name.WinAnsiEncoding))),
            ))
        pdf.save(path)
    readable.unlink()
    return path


def prose(path: Path) -> Path:
    """One page of plain readable prose (Helvetica)."""
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    c.setFont("Helvetica-Bold", 20)
    c.drawString(72, 760, "NATO-EU Relations")
    c.setFont("Helvetica", 11)
    for i, line in enumerate(PROSE):
        c.drawString(72, 720 - 15 * i, line)
    c.showPage()
    c.save()
    return path


def readable_then_no_unicode_map(path: Path) -> Path:
    """Page 1 readable prose, page 2 the unreadable page of :func:`no_unicode_map`."""
    first = prose(path.with_name(path.stem + "-1.pdf"))
    second = no_unicode_map(path.with_name(path.stem + "-2.pdf"))
    with pikepdf.open(first) as pdf, pikepdf.open(second) as other:
        pdf.pages.extend(other.pages)
        pdf.save(path)
    first.unlink()
    second.unlink()
    return path


def rotated_page(path: Path, rotate: int = 90) -> Path:
    """The :func:`prose` page with ``/Rotate`` set: a viewer shows it turned by ``rotate``
    degrees clockwise, its lines running down (90), upside down (180) or up (270)."""
    prose(path)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        pdf.pages[0].Rotate = rotate
        pdf.save(path)
    return path


def rotated_text(path: Path, angle: int = 90) -> Path:
    """A portrait page whose text is drawn turned ``angle`` degrees counterclockwise (90: its
    lines run up the page, as on the spine of a landscape table printed on a portrait page)."""
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    width, height = A4
    c.translate(width / 2, height / 2)
    c.rotate(angle)
    # the prose page's layout, centred on the page's centre in the turned frame
    w, h = (height, width) if angle % 180 else (width, height)
    c.translate(-w / 2, -h / 2)
    c.setFont("Helvetica-Bold", 20)
    c.drawString(72, h - 82, "NATO-EU Relations")
    c.setFont("Helvetica", 11)
    for i, line in enumerate(PROSE):
        c.drawString(72, h - 122 - 15 * i, line)
    c.showPage()
    c.save()
    return path
