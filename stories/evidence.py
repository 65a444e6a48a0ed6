"""Consent evidence files (signed forms): checked by content, stored by content hash."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from stories.validation import Invalid

MB = 1024 * 1024
MAX_EVIDENCE_BYTES = 15 * MB
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
    name = f"{hashlib.sha256(data).hexdigest()}.{kind}"
    evidence_dir.mkdir(parents=True, exist_ok=True)
    path = evidence_dir / name
    if not path.exists():
        temp = path.with_suffix(".partial")
        temp.write_bytes(data)
        os.replace(temp, path)
    return name
