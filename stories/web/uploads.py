"""Forms that carry files: a file over its limit comes back as a message by its field, with everything typed kept.

A browser sends the whole form, however large its file, and the fields after the file (the consent,
on the story form) arrive only once the file has. So on the forms that take files the request may be
as large as waitress accepts; each file is counted in full but only kept up to just past the largest
limit, and the step that accepts it (a recording, a signed form) says how large it was against its limit.
"""

from __future__ import annotations

from tempfile import SpooledTemporaryFile
from typing import Any

from flask import Request, request
from flask_login import current_user

from stories.evidence import MAX_EVIDENCE_BYTES
from stories.services.recording import recording_limits

# The forms with a file field. Anyone else's request keeps the app's small ceiling (MAX_CONTENT_LENGTH).
UPLOAD_ENDPOINTS = frozenset({"stories.new", "consent.change"})
# Waitress's own ceiling on a request body (its max_request_body_size default): it has read that much
# before the app sees anything, so the app may as well answer with the form.
REQUEST_CEILING = 1 << 30
IN_MEMORY = 500 * 1024  # as Werkzeug: larger files go to a temporary file


class CountedFile(SpooledTemporaryFile):
    """An uploaded file that keeps at most `keep` bytes and counts every byte sent (`received`)."""

    def __init__(self, keep: int):
        super().__init__(max_size=IN_MEMORY, mode="w+b")
        self.keep = keep
        self.received = 0

    def write(self, data: Any) -> int:
        room = self.keep - self.received
        self.received += len(data)
        if room > 0:
            super().write(data[:room])
        return len(data)


class UploadRequest(Request):
    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> Any:
        # One byte past the largest limit is enough for each check to know a file is too large.
        return CountedFile(max(recording_limits().max_bytes, MAX_EVIDENCE_BYTES) + 1)


def received_size(upload: Any) -> int | None:
    """How many bytes of this uploaded file the browser sent, where that was counted."""
    return getattr(upload.stream, "received", None)


def allow_uploads() -> None:
    """Before CSRF reads the form: a logged-in person's form with a file may be as large as waitress allows."""
    if request.endpoint in UPLOAD_ENDPOINTS and current_user.is_authenticated:
        request.max_content_length = REQUEST_CEILING
