"""Consent evidence files (signed forms): checked by content, stored by content hash, known by what they show.

A form must at least be a readable document: a PDF with at least one page, or a picture large
enough to read a page in (MIN_SIDE pixels each way) that is not one colour throughout. That is
all the check claims: nobody's signature is detected here, a person looks at the form.

A signed form is one storyteller's, so the same document must be recognised however its bytes
were changed. Its fingerprint is what it shows, not its bytes: for a PDF, what each page draws
(its content operations, the images and form fields it shows), so bytes after the end, metadata,
another file layout or compression are the same form; for a picture, its pixels, so metadata,
trailing bytes or another lossless encoding are the same form.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import struct
import warnings
from pathlib import Path
from typing import Any

import sqlite_utils
from PIL import Image, ImageOps
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
    note_form(db, name, form_fingerprint(data))
    register_upload(db, EVIDENCE, name, actor)
    return name


def form_fingerprint(data: bytes) -> str:
    """What a stored form shows, as a digest: the same for the same document however its bytes differ."""
    kind = evidence_kind(data)
    try:
        if kind == "pdf":
            return "pdf:" + _pdf_drawing(data)
        if kind not in (None, "heic"):  # no HEIC decoder here: its bytes are all there is to go on
            return "pixels:" + _pixels(data)
    except Exception:  # noqa: BLE001 - a file store_evidence accepted but this cannot take apart: its bytes, as before
        pass
    return "bytes:" + hashlib.sha256(data).hexdigest()


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


def _pixels(data: bytes) -> str:
    """A digest of the picture's pixels, the right way up, whatever the file format, metadata or bytes after it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as picture:
            upright = ImageOps.exif_transpose(picture).convert("RGB")
    return hashlib.sha256(b"%dx%d" % upright.size + upright.tobytes()).hexdigest()


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
