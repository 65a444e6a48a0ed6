"""Consent evidence files (signed forms): checked by content, stored by content hash, known by what they show.

A form must at least be a readable document: a PDF with at least one page, or a picture large
enough to read a page in (MIN_SIDE pixels each way) that is not one colour throughout. That is
all the check claims: nobody's signature is detected here, a person looks at the form.

A signed form is one storyteller's, so the same document must be recognised however its bytes
were changed. It is known by what it shows, not its bytes, as a set of fingerprints; two files
sharing any one of them are the same form:

- a PDF by what each page draws (its content operations, the images and form fields it shows), so
  bytes after the end, metadata, another file layout or compression are the same form; and by the
  picture on each page that is only a picture (a scan: one image over the page, nothing else showing
  but an invisible OCR layer), so a picture on file and the same picture in a PDF are one form;
- a picture by its pixels, read the same whichever way up, mirrored, in colour or grey, with a plain
  border, or enlarged by repeating each pixel (nothing is lost in those), so metadata, trailing bytes,
  another lossless format or those changes are the same form; and by those pixels after JPEG
  compression as libjpeg does it by default, which is what a picture becomes when Pillow or a
  scanner app built on libjpeg wraps it in a PDF.

Any other compression, resampling or edit makes new pixels, out of reach of an exact fingerprint
(bench/form_likeness.py: a perceptual hash cannot tell two people's forms on one template apart).
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import re
import struct
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlite_utils
from PIL import Image, ImageChops, ImageOps
from pypdf import PdfReader
from pypdf.generic import ArrayObject, ContentStream, DictionaryObject, IndirectObject, NameObject, StreamObject

from stories.stored_files import EVIDENCE, note_form, register_upload
from stories.validation import Invalid

MB = 1024 * 1024
MAX_EVIDENCE_BYTES = 15 * MB
# A photo of an A4 page is legible from about 400 pixels across; a phone takes 3,000 or more.
MIN_SIDE = 400
# Past this a picture would take hundreds of megabytes to open (a "decompression bomb").
MAX_PIXELS = 60_000_000
# Stored names are content hashes. A name arriving from a form or an import must match this,
# so it can never point outside the evidence folder.
STORED_NAME = re.compile(r"[0-9a-f]{64}\.(pdf|png|jpg|gif|webp|heic)")
# Leading bytes of the formats a scanned or photographed form arrives in.
SIGNATURES = {
    b"%PDF-": "pdf",
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpg",
    b"GIF87a": "gif",
    b"GIF89a": "gif",
}


def is_stored_name(name: str) -> bool:
    return bool(STORED_NAME.fullmatch(name))


def evidence_kind(data: bytes) -> str | None:
    for signature, kind in SIGNATURES.items():
        if data.startswith(signature):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "heic"
    return None


def store_evidence(evidence_dir: Path, data: bytes, field: str = "evidence_upload", received: int | None = None) -> str:
    """Save a signed consent form (PDF or image) and return its stored file name.

    `received` is the upload's whole size where it was counted, when only the start of it is in `data`.
    """
    if not data:
        raise Invalid({field: "The consent form file is empty. Choose the scanned or photographed form again."})
    if len(data) > MAX_EVIDENCE_BYTES:
        size = max(len(data), received or 0)
        raise Invalid(
            {
                field: f"The consent form is {size / MB:,.1f} MB; a form can be at most {MAX_EVIDENCE_BYTES / MB:.0f} MB. "
                "Choose a smaller scan or photo of it."
            }
        )
    kind = evidence_kind(data)
    if kind is None:
        raise Invalid({field: "The consent form must be a PDF or a photo (JPEG, PNG, WebP, HEIC); this file is neither."})
    if kind == "pdf" and b"%%EOF" not in data[-2048:]:
        raise Invalid({field: "The PDF looks cut short (it has no end marker); please upload it again."})
    problem = _pdf_problem(data) if kind == "pdf" else _picture_problem(data, kind)
    if problem:
        raise Invalid({field: problem})
    name = f"{hashlib.sha256(data).hexdigest()}.{kind}"
    evidence_dir.mkdir(parents=True, exist_ok=True)
    path = evidence_dir / name
    if not path.exists():
        temp = path.with_suffix(".partial")
        temp.write_bytes(data)
        os.replace(temp, path)
    return name


def keep_form(
    db: sqlite_utils.Database,
    evidence_dir: Path,
    data: bytes,
    actor: str,
    field: str = "evidence_upload",
    received: int | None = None,
) -> str:
    """Store an uploaded signed form (checked), note its fingerprint, and hold it for `actor` alone to attach.

    Returns its stored name. Every way a form arrives (the app's forms, an import, the demo) comes here.
    """
    name = store_evidence(evidence_dir, data, field, received)
    note_form(db, name, form_fingerprints(data))
    register_upload(db, EVIDENCE, name, actor)
    return name


def form_fingerprints(data: bytes) -> set[str]:
    """What a stored form shows, as digests: a file showing the same document shares at least one of them."""
    kind = evidence_kind(data)
    try:
        if kind == "pdf":
            return {"pdf:" + _pdf_drawing(data), *("pixels:" + _pixels(page) for page in _page_pictures(data))}
        if kind not in (None, "heic"):  # no HEIC decoder here: its bytes are all there is to go on
            return {"pixels:" + pixels for pixels in _picture_pixels(data)}
    except Exception:  # noqa: BLE001 - a file store_evidence accepted but this cannot take apart: its bytes, as before
        pass
    return {"bytes:" + hashlib.sha256(data).hexdigest()}


def _pdf_drawing(data: bytes) -> str:
    """A digest of what every page draws: its content operations, each image's pixels, each form field's look and value.

    Numbers are rounded and operators read as operations, so spacing, comments, object numbers,
    compression, metadata and bytes added after the end (an incremental update, "\\n%x\\n") change nothing.
    """
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        reader.decrypt("")
    digest = hashlib.sha256()
    for page in reader.pages:
        digest.update(b"\x00page")
        _draw(reader, page.get_contents(), page.get("/Resources"), digest, depth=0)
        for annotation in _resolve(page.get("/Annots")) or []:
            annotation = _resolve(annotation)
            look = _resolve(_resolve(annotation.get("/AP") or {}).get("/N"))
            digest.update(_canonical([annotation.get(key) for key in ("/Subtype", "/Rect", "/V", "/Contents")]))
            if isinstance(look, StreamObject):
                _draw(reader, look, look.get("/Resources"), digest, depth=1)
    return digest.hexdigest()


# A form XObject may draw another; a file that nests them deeper than this is drawing nothing readable.
MAX_NESTING = 8


def _draw(reader: PdfReader, contents: Any, resources: Any, digest: Any, depth: int) -> None:
    """Feed the digest with one content stream's operations, and what each image or form XObject it shows draws."""
    if contents is None or depth > MAX_NESTING:
        return
    objects = _resolve(_resolve(resources or {}).get("/XObject")) or {}
    for operands, operator in ContentStream(_resolve(contents), reader).operations:
        if operator == b"INLINE IMAGE":
            digest.update(b"inline" + hashlib.sha256(operands["data"]).digest())
            continue
        digest.update(operator + b"(" + _canonical(operands) + b")")
        if operator == b"Do" and operands:
            shown = _resolve(objects.get(operands[0]))
            if isinstance(shown, StreamObject) and shown.get("/Subtype") == "/Image":
                digest.update(_canonical([shown.get("/Width"), shown.get("/Height")]) + hashlib.sha256(shown.get_data()).digest())
            elif isinstance(shown, StreamObject):
                _draw(reader, shown, shown.get("/Resources") or resources, digest, depth + 1)


def _resolve(value: Any) -> Any:
    return value.get_object() if isinstance(value, IndirectObject) else value


def _canonical(value: Any) -> bytes:
    """An operand as it draws, whatever way the file spelled it (1 or 1.0, an object or its reference)."""
    value = _resolve(value)
    if isinstance(value, bool) or value is None:
        return repr(value).encode()
    if isinstance(value, int | float):
        return f"{float(value):.3f}".encode()
    if isinstance(value, NameObject | str):
        return str(value).encode("utf-8", "surrogatepass")
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, ArrayObject | list | tuple):
        return b"[" + b",".join(_canonical(item) for item in value) + b"]"
    if isinstance(value, DictionaryObject | dict):
        return b"{" + b",".join(_canonical(key) + b":" + _canonical(value[key]) for key in sorted(value)) + b"}"
    return repr(value).encode()


def _picture_pixels(data: bytes) -> set[str]:
    """The picture's pixels, and the same pixels as a libjpeg default JPEG of them (in colour and in grey) shows them."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as picture:
            upright = ImageOps.exif_transpose(picture).convert("RGB")
    return {_pixels(upright), *(_pixels(_as_default_jpeg(upright.convert(mode))) for mode in ("RGB", "L"))}


def _as_default_jpeg(picture: Image.Image) -> Image.Image:
    """The picture as Pillow writes it into a PDF (libjpeg at its default quality, 75), read back."""
    out = io.BytesIO()
    picture.save(out, "JPEG")
    return Image.open(out)


# The ways a picture can be turned or mirrored besides as it is: eight in all.
TURNS = tuple(Image.Transpose)


def _pixels(picture: Image.Image) -> str:
    """A digest of what the picture shows, the same however it was turned, mirrored, greyed, framed or enlarged.

    Grey: a colour form photocopied or greyed is the same document. A border of one colour is trimmed,
    and a picture enlarged by repeating each pixel k times each way is taken back to its own size.
    Of the eight ways the result can be turned or mirrored, the least digest is the picture's.
    """
    grey = _unenlarged(_trimmed(picture.convert("L")))
    return min(_digest(grey), *(_digest(grey.transpose(turn)) for turn in TURNS))


def _digest(picture: Image.Image) -> str:
    return hashlib.sha256(b"%dx%d" % picture.size + picture.tobytes()).hexdigest()


def _trimmed(grey: Image.Image) -> Image.Image:
    """The picture without a border all of its corner's shade (a scanner's margin, a frame added later)."""
    plain = Image.new("L", grey.size, grey.getpixel((0, 0)))
    box = ImageChops.difference(grey, plain).getbbox()
    return grey.crop(box) if box else grey


def _unenlarged(grey: Image.Image) -> Image.Image:
    """The picture at the size it was before each of its pixels was repeated k × k times (nearest-neighbour enlarging)."""
    factor = next((p for p in _prime_factors(math.gcd(*grey.size)) if _repeats_blocks(grey, p)), None)
    while factor:
        grey = grey.resize((grey.width // factor, grey.height // factor), Image.Resampling.NEAREST)
        factor = next((p for p in _prime_factors(math.gcd(*grey.size)) if _repeats_blocks(grey, p)), None)
    return grey


def _repeats_blocks(grey: Image.Image, factor: int) -> bool:
    """Is the picture made of factor × factor blocks each of one shade?"""
    smaller = grey.resize((grey.width // factor, grey.height // factor), Image.Resampling.NEAREST)
    return smaller.resize(grey.size, Image.Resampling.NEAREST).tobytes() == grey.tobytes()


def _prime_factors(number: int) -> list[int]:
    factors, candidate = [], 2
    while candidate * candidate <= number:
        while number % candidate == 0:
            factors.append(candidate)
            number //= candidate
        candidate += 1
    return factors + ([number] if number > 1 else [])


# A page is a picture when one image covers this much of it: a scan's page, not a logo or a photo on a letter.
PAGE_COVERED = 0.9
# What paints a mark on a page besides an image: a path stroked or filled, shading, an inline image.
PAINTING = {b"S", b"s", b"f", b"F", b"f*", b"B", b"B*", b"b", b"b*", b"sh", b"INLINE IMAGE"}
SHOWING_TEXT = {b"Tj", b"TJ", b"'", b'"'}
INVISIBLE_TEXT = 3  # text render mode 3: an OCR layer over a scan, there to be searched, not seen
Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _page_pictures(data: bytes) -> list[Image.Image]:
    """The picture on each page that is only a picture: one image over the page, nothing else showing on it."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        reader.decrypt("")
    pictures = []
    for page in reader.pages:
        try:
            picture = _page_picture(reader, page)
        except Exception:  # noqa: BLE001 - a page this cannot take apart is known by what it draws (`_pdf_drawing`) alone
            picture = None
        if picture is not None:
            pictures.append(picture)
    return pictures


def _page_picture(reader: PdfReader, page: Any) -> Image.Image | None:
    if any(_resolve(_resolve(annotation).get("/AP")) for annotation in _resolve(page.get("/Annots")) or []):
        return None  # a form field or a stamp shows on it too
    marks = list(_marks(reader, page.get_contents(), page.get("/Resources"), IDENTITY, depth=0))
    if len(marks) != 1 or marks[0] is None:
        return None
    image, matrix = marks[0]
    if _covered(matrix, [float(n) for n in page.cropbox]) < PAGE_COVERED:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        picture = _decoded(image)
        if picture.width * picture.height > MAX_PIXELS:
            return None
        return picture.convert("RGB")


def _decoded(image: StreamObject) -> Image.Image:
    """An image XObject's pixels. A JPEG is read as it is (pypdf would compress it again on the way)."""
    filters = _resolve(image.get("/Filter"))
    last = filters[-1] if isinstance(filters, ArrayObject) and filters else filters
    if last == "/DCTDecode" and "/Decode" not in image:
        return Image.open(io.BytesIO(image.get_data()))  # opened lazily: its size is read before its pixels
    if not 0 < image.get("/Width", 0) * image.get("/Height", 0) <= MAX_PIXELS:
        raise ValueError("no picture of a page")
    return image.decode_as_image()


def _marks(reader: PdfReader, contents: Any, resources: Any, matrix: Matrix, depth: int) -> Iterator[Any]:
    """What a content stream shows: (image, where it is drawn) for each image, None for any other visible mark."""
    if contents is None or depth > MAX_NESTING:
        return
    objects = _resolve(_resolve(resources or {}).get("/XObject")) or {}
    saved: list[tuple[Matrix, int]] = []
    text_mode = 0
    for operands, operator in ContentStream(_resolve(contents), reader).operations:
        if operator == b"q":
            saved.append((matrix, text_mode))
        elif operator == b"Q" and saved:
            matrix, text_mode = saved.pop()
        elif operator == b"cm":
            matrix = _times(tuple(float(n) for n in operands), matrix)
        elif operator == b"Tr":
            text_mode = int(operands[0])
        elif operator in PAINTING or (operator in SHOWING_TEXT and text_mode != INVISIBLE_TEXT):
            yield None
        elif operator == b"Do" and operands:
            shown = _resolve(objects.get(operands[0]))
            if isinstance(shown, StreamObject) and shown.get("/Subtype") == "/Image":
                yield shown, matrix
            elif isinstance(shown, StreamObject):
                inner = tuple(float(n) for n in shown.get("/Matrix", IDENTITY))
                yield from _marks(reader, shown, shown.get("/Resources") or resources, _times(inner, matrix), depth + 1)


def _times(first: Matrix, then: Matrix) -> Matrix:
    """Two PDF transformation matrices applied one after the other (PDF 32000, 8.3.4)."""
    a, b, c, d, e, f = first
    p, q, r, s, t, u = then
    return (a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s, e * p + f * r + t, e * q + f * s + u)


def _covered(matrix: Matrix, box: list[float]) -> float:
    """How much of the page box (x0, y0, x1, y1) an image drawn with this matrix covers, 0 to 1."""
    a, b, c, d, e, f = matrix
    xs = [e, a + e, c + e, a + c + e]
    ys = [f, b + f, d + f, b + d + f]
    left, bottom, right, top = min(box[0], box[2]), min(box[1], box[3]), max(box[0], box[2]), max(box[1], box[3])
    width = min(max(xs), right) - max(min(xs), left)
    height = min(max(ys), top) - max(min(ys), bottom)
    page = (right - left) * (top - bottom)
    return max(width, 0) * max(height, 0) / page if page > 0 else 0.0


def _pdf_problem(data: bytes) -> str | None:
    """Why this PDF is not a readable form (no pages, locked, unreadable), or None."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its notes on each scanner's quirks are not our log's business
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            return "The PDF is locked with a password. Please upload it without the password (or a photo of the form)."
        pages = len(reader.pages)
    except Exception:  # noqa: BLE001 - a damaged upload can break the parser in many ways; each means "unreadable"
        return "The PDF could not be read: it may be damaged. Please scan or photograph the signed form again."
    if pages == 0:
        return "The PDF has no pages in it: please upload the scan of the signed form."
    return None


def _picture_problem(data: bytes, kind: str) -> str | None:
    """Why this picture is not a readable form (too small, one colour throughout, unreadable), or None."""
    if kind == "heic":  # no HEIC decoder here: its size comes from the file's own header
        width, height = _heic_size(data)
        blank = False
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as picture:
                    width, height = picture.size
                    if width * height > MAX_PIXELS:
                        return f"The picture is {width} × {height} pixels, more than a form needs: please upload a smaller photo."
                    picture.thumbnail((512, 512))  # enough to tell one colour from a page
                    blank = all(low == high for low, high in _extrema(picture.convert("RGB")))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            return "The picture is larger than a form needs: please upload a smaller photo."
        except (OSError, ValueError, SyntaxError):
            return "The picture could not be read: it may be damaged or cut short. Please upload it again."
    if min(width, height) < MIN_SIDE:
        return (
            f"The picture is {width} × {height} pixels: too small to read a form in. Please upload a scan or photo of"
            f" the whole signed form, at least {MIN_SIDE} pixels each way."
        )
    if blank:
        return "The picture is one colour throughout: there is no form in it. Please upload the scan or photo of the signed form."
    return None


def _extrema(picture: Image.Image) -> tuple[tuple[int, int], ...]:
    return tuple(picture.getextrema())  # (low, high) for each of red, green and blue


def _heic_size(data: bytes) -> tuple[int, int]:
    """The largest image size a HEIC file declares (its `ispe` boxes), or (0, 0)."""
    sizes = [(0, 0)]
    start = data.find(b"ispe")
    while start != -1 and start + 16 <= len(data):
        sizes.append(struct.unpack(">II", data[start + 8 : start + 16]))  # after the box's version and flags
        start = data.find(b"ispe", start + 4)
    return max(sizes, key=lambda size: size[0] * size[1])
