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
