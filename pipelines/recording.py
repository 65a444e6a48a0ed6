"""Accepting a recording: prove it is audio by decoding it, then keep it under its content hash."""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
from pathlib import Path
from typing import BinaryIO

from pipelines.audio import AudioError, AudioInfo, audio_digest, keep_only_sound, probe_audio

STORED_NAME = re.compile(r"[0-9a-f]{64}\.[a-z0-9]{2,5}")  # never a path: names come back from a form
MAX_AUDIO_MB_ENV = "STORYBANK_MAX_AUDIO_MB"
MAX_AUDIO_MINUTES_ENV = "STORYBANK_MAX_AUDIO_MINUTES"
MB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_seconds: float

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            max_bytes=int(float(os.environ.get(MAX_AUDIO_MB_ENV, "200")) * MB),
            max_seconds=float(os.environ.get(MAX_AUDIO_MINUTES_ENV, "60")) * 60,
        )


@dataclasses.dataclass(frozen=True)
class StoredRecording:
    audio_file: str  # name under the instance's audio folder
    info: AudioInfo


def accept_recording(audio_dir: Path, upload: BinaryIO, limits: Limits, received: int | None = None) -> StoredRecording:
    """Check an uploaded recording and store its sound alone; raises AudioError with a message for the uploader.

    `received` is the upload's whole size where it was counted (more than is kept of a file over the limit).
    """
    audio_dir.mkdir(parents=True, exist_ok=True)
    incoming = audio_dir / f".incoming-{secrets.token_hex(8)}"
    sound = incoming.with_name(incoming.name + "-sound")
    try:
        with open(incoming, "wb") as out:
            copied = _copy_limited(upload, out, limits.max_bytes)
        if copied > limits.max_bytes:
            size = f"{megabytes(received)} MB" if received else "larger than that"
            raise AudioError(
                f"This recording is {size}; a recording can be at most {megabytes(limits.max_bytes)} MB. Choose a smaller "
                "file (the same recording saved as mp3 is often a tenth of the size), or record it here."
            )
        info = probe_audio(incoming, max_bytes=limits.max_bytes, max_seconds=limits.max_seconds)
        keep_only_sound(incoming, sound, info)
        name = f"{audio_digest(sound)}.{info.extension}"
        os.replace(sound, audio_dir / name)
        return StoredRecording(audio_file=name, info=info)
    finally:
        incoming.unlink(missing_ok=True)
        sound.unlink(missing_ok=True)


def megabytes(size: int) -> str:
    """A size as people read it beside a limit: "1.6", "210" (MB of 1,048,576 bytes, as the browser's check says)."""
    value = size / MB
    return f"{value:.1f}".removesuffix(".0") if value < 10 else f"{value:,.0f}"


def stored_recording(audio_dir: Path, audio_file: str, limits: Limits) -> StoredRecording:
    """A recording accepted earlier, named by the form that is being submitted again."""
    if not STORED_NAME.fullmatch(audio_file) or not (audio_dir / audio_file).is_file():
        raise AudioError("The recording uploaded earlier could not be found; please choose the file again.")
    info = probe_audio(audio_dir / audio_file, max_bytes=limits.max_bytes, max_seconds=limits.max_seconds)
    return StoredRecording(audio_file=audio_file, info=info)


def _copy_limited(source: BinaryIO, target: BinaryIO, limit: int) -> int:
    """Copy at most limit + 1 bytes: enough to know a file is too big without storing all of it."""
    copied = 0
    while copied <= limit:
        block = source.read(min(1 << 20, limit + 1 - copied))
        if not block:
            break
        target.write(block)
        copied += len(block)
    return copied


def copy_file(source: Path, audio_dir: Path, limits: Limits) -> StoredRecording:
    """Accept a recording from a path (the CLI and demo), with the same checks as an upload."""
    with open(source, "rb") as upload:
        return accept_recording(audio_dir, upload, limits)
