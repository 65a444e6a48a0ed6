"""Prove an uploaded file is a sound recording by decoding it, and describe it (PyAV; no Whisper here)."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from av.audio.stream import AudioStream
from av.container import InputContainer

# Suggested limits for uploads; probe_audio applies only the limits it is given.
MAX_BYTES = 200_000_000
MAX_SECONDS = 30 * 60

# FFmpeg demuxers we accept, by the name PyAV reports, and the extension to store each under.
# Only these may open the file: it stops FFmpeg treating an upload as a playlist (hls, concat)
# that would read other files or URLs, and keeps to what phones and browsers record.
CONTAINERS = {
    "wav": "wav",
    "mp3": "mp3",
    "mov,mp4,m4a,3gp,3g2,mj2": "m4a",
    "ogg": "ogg",
    "matroska,webm": "webm",
    "flac": "flac",
    "aac": "aac",
}
_DEMUXERS = "wav,mp3,mov,ogg,matroska,flac,aac"
_FORMATS_HINT = "Please upload a sound recording such as MP3, M4A, WAV, OGG, WEBM or FLAC."

# Below -60 dBFS throughout is a dead microphone, not a quiet storyteller.
_SILENCE_PEAK = 0.001
# FFmpeg's decoders drop the odd damaged packet and carry on, as faster-whisper does;
# more than this share of bad packets means the file is broken.
_BAD_PACKET_SHARE = 0.01

# First bytes of files people upload by mistake, so the error can say what the file looks like.
_SIGNATURES = (
    (b"%PDF", "a PDF"),
    (b"PK\x03\x04", "a Word or Excel document, or a zip file"),
    (b"\xd0\xcf\x11\xe0", "an older Word or Excel document"),
    (b"\x89PNG", "a picture (PNG)"),
    (b"\xff\xd8\xff", "a picture (JPEG)"),
    (b"GIF8", "a picture (GIF)"),
    (b"{\\rtf", "a document (RTF)"),
)


class AudioError(ValueError):
    """The file is not a sound recording we can use; the message is written for the person uploading."""


@dataclass(frozen=True)
class AudioInfo:
    duration: float  # seconds, from the decoded samples
    container: str  # FFmpeg demuxer name, e.g. "matroska,webm"
    codec: str  # e.g. "opus", "aac", "pcm_s16le"
    sample_rate: int
    channels: int
    extension: str  # canonical extension to store the file under, without the dot


def probe_audio(path: str | Path, *, max_bytes: int | None = None, max_seconds: float | None = None) -> AudioInfo:
    """Decode the whole recording to prove it is readable audio and measure it; raise AudioError if not."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as file:
            head = file.read(4096)
    except OSError:
        raise AudioError("The file could not be read. Please upload it again.") from None
    if size == 0:
        raise AudioError("The file is empty: it has no recording in it.")
    if max_bytes is not None and size > max_bytes:
        raise AudioError(f"The file is {_say_bytes(size)}; the limit is {_say_bytes(max_bytes)}.")
    looks_like = _looks_like(head)
    if looks_like:
        raise AudioError(f"This file is not audio we can read (it looks like {looks_like}). {_FORMATS_HINT}")
    try:
        with (
            path.open("rb") as file,
            av.open(file, options={"format_whitelist": _DEMUXERS}, metadata_errors="ignore") as container,
        ):
            return _inspect(container, path, head, size, max_seconds)
    except av.error.FFmpegError:
        raise AudioError(
            f"This file is not audio we can read: it may be damaged, incomplete or in a format we do not support. {_FORMATS_HINT}"
        ) from None


def keep_only_sound(source: str | Path, target: str | Path, info: AudioInfo) -> None:
    """Write the recording's sound alone to `target`, in its own container: packets copied, nothing re-encoded.

    Consent was given for a voice, not a face: a picture inside the file (an mp3's, m4a's or
    FLAC's cover art), any other stream and every tag (titles, comments, a phone's location)
    are left behind, whatever hid them. Run on a file `probe_audio` accepted.
    """
    try:
        with (
            Path(source).open("rb") as file,
            av.open(file, options={"format_whitelist": _DEMUXERS}, metadata_errors="ignore") as container,
            av.open(str(target), "w", format=_muxer(info)) as output,
        ):
            sound = container.streams.audio[0]
            copy = output.add_stream_from_template(sound)
            for packet in container.demux(sound):
                if packet.dts is None:
                    continue  # the empty packet that ends demuxing
                packet.stream = copy
                output.mux(packet)
    except (av.error.FFmpegError, ValueError):
        raise AudioError(
            "The sound in this file could not be kept apart from the rest of it. Please save just the audio"
            f" (for example as MP3 or M4A) and upload that. {_FORMATS_HINT}"
        ) from None


def audio_digest(path: str | Path) -> str:
    """SHA-256 of the file's bytes, as hex, so recordings are stored by content."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_samples(path: str | Path, rate: int = 16_000) -> np.ndarray:
    """The whole recording as mono 16-bit samples at `rate` Hz: half the memory of floats for long recordings."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    chunks: list[np.ndarray] = []
    try:
        with (
            Path(path).open("rb") as file,
            av.open(file, options={"format_whitelist": _DEMUXERS}, metadata_errors="ignore") as container,
        ):
            stream = container.streams.audio[0]
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()  # the flush packet at the end drains the decoder
                except av.error.InvalidDataError:
                    continue  # as probe_audio tolerates: the odd damaged packet
                for frame in frames:
                    frame.pts = None  # timestamps can jump in damaged files; we only need the samples
                    chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
            chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    except (av.error.FFmpegError, IndexError, OSError):
        raise AudioError("This file is not audio we can read: it may be damaged or incomplete.") from None
    return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)


def _inspect(container: InputContainer, path: Path, head: bytes, size: int, max_seconds: float | None) -> AudioInfo:
    videos = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not container.streams.audio:
        if videos:
            raise AudioError("This file is a video with no sound track.")
        raise AudioError("The recording is empty: the file has no sound stream.")
    if videos:
        # Storing pictures of a storyteller goes beyond consent to record their voice.
        raise AudioError("This file is a video. Storybank keeps sound recordings only: please upload just the audio.")
    stream = container.streams.audio[0]
    declared = _declared_seconds(container, stream, head)
    if max_seconds is not None and declared is not None and declared > max_seconds:
        raise AudioError(_too_long(declared, max_seconds))
    if container.format.name == "wav" and _wav_cut_short(path, size):
        raise AudioError(
            "The recording seems to be cut off: the file is shorter than it says it is. Please upload the whole file again."
        )
    seconds = _decode(container, stream, max_seconds)
    if declared is not None and seconds < declared - max(1.0, 0.02 * declared):
        raise AudioError(
            f"The recording seems to be cut off: it should be {_say_duration(declared)} long but only "
            f"{_say_duration(seconds)} could be read. Please upload the whole file again."
        )
    codec = {"mp3float": "mp3"}.get(stream.codec_context.name, stream.codec_context.name)
    return AudioInfo(
        duration=round(seconds, 3),
        container=container.format.name,
        codec=codec,
        sample_rate=stream.codec_context.sample_rate,
        channels=stream.codec_context.channels,
        extension=_extension(container.format.name, codec),
    )


def _decode(container: InputContainer, stream: AudioStream, max_seconds: float | None) -> float:
    """Decode every packet; return the seconds of sound, checking it is neither broken nor silent."""
    seconds = peak = 0.0
    packets = bad = 0
    for packet in container.demux(stream):
        flush = packet.size == 0  # the empty packet at the end drains the decoder's last frames
        packets += not flush
        if max_seconds is not None and seconds > max_seconds and not flush:
            # Over the limit: count the rest without decoding so the message can say how long it is.
            seconds += float(packet.duration * packet.time_base) if packet.duration else 0.0
            continue
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            bad += 1
            continue
        for frame in frames:
            seconds += frame.samples / frame.sample_rate
            if peak < _SILENCE_PEAK:  # stop measuring once there is clearly sound
                peak = max(peak, _peak(frame))
    if seconds == 0.0:
        raise AudioError("The recording is empty: there is no sound in it.")
    if bad > max(3, _BAD_PACKET_SHARE * packets):
        raise AudioError("The recording is damaged: parts of it cannot be played. Please upload it again.")
    if max_seconds is not None and seconds > max_seconds:
        raise AudioError(_too_long(seconds, max_seconds))
    if peak < _SILENCE_PEAK:
        raise AudioError("The recording is silent: no sound was picked up. Please check the microphone and record again.")
    return seconds


def _peak(frame: av.AudioFrame) -> float:
    """Loudest sample in a frame, from 0 (silence) to 1 (full scale)."""
    samples = frame.to_ndarray()
    if samples.size == 0:
        return 0.0
    if samples.dtype == np.uint8:
        return float(np.abs(samples.astype(np.int16) - 128).max()) / 128
    if np.issubdtype(samples.dtype, np.integer):
        return float(np.abs(samples.astype(np.int64)).max()) / np.iinfo(samples.dtype).max
    return float(np.nanmax(np.abs(samples)))


def _declared_seconds(container: InputContainer, stream: AudioStream, head: bytes) -> float | None:
    """The length the file's own header promises, where that header is trustworthy."""
    name = container.format.name
    if name == "mp3" and not any(tag in head for tag in (b"Xing", b"Info", b"VBRI")):
        return None  # without a frame-count tag FFmpeg only guesses from the bit rate
    if name in ("mp3", "flac", "mov,mp4,m4a,3gp,3g2,mj2") and stream.duration:
        return float(stream.duration * stream.time_base)
    if name == "matroska,webm" and container.duration:
        return container.duration / av.time_base
    return None  # wav is checked byte by byte; ogg's length is read from its own last page


def _wav_cut_short(path: Path, size: int) -> bool:
    """True when the wav data chunk claims more bytes than the file holds."""
    with path.open("rb") as file:
        if file.read(12)[:4] != b"RIFF":
            return False  # RF64 and friends: trust the decoder
        for _ in range(64):
            header = file.read(8)
            if len(header) < 8:
                return True
            chunk, length = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk == b"data":
                # 0 and 0xFFFFFFFF mean "unknown": written by a recorder streaming to a pipe.
                return length not in (0, 0xFFFFFFFF) and file.tell() + length > size
            file.seek(length + (length & 1), 1)
    return False


def _muxer(info: AudioInfo) -> str:
    """The FFmpeg muxer that writes this recording's container back."""
    if info.container == "mov,mp4,m4a,3gp,3g2,mj2":
        return "ipod" if info.codec in ("aac", "alac") else "mp4"
    if info.container == "matroska,webm":
        return "webm" if info.codec in ("opus", "vorbis") else "matroska"
    return {"aac": "adts"}.get(info.container, info.container)


def _extension(container: str, codec: str) -> str:
    if container == "ogg" and codec == "opus":
        return "opus"
    if container == "matroska,webm" and codec not in ("opus", "vorbis"):
        return "mka"
    return CONTAINERS[container]


def _looks_like(head: bytes) -> str | None:
    """What a non-audio file appears to be, from its first bytes, or None."""
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return kind
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "a photo (HEIC)"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a picture (WebP)"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the 4096th byte still counts as text.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return None
    if text and "\x00" not in text and sum(c.isprintable() or c.isspace() for c in text) > 0.95 * len(text):
        lower = text.lstrip().lower()
        return "a web page" if lower.startswith(("<!doctype html", "<html")) else "a text file"
    return None


def _too_long(seconds: float, limit: float) -> str:
    return f"The recording is {_say_duration(seconds)} long; the limit is {_say_duration(limit)}."


def _say_duration(seconds: float) -> str:
    """42 minutes, 1 hour 5 minutes, 30 minutes 20 seconds, 8 seconds."""
    whole = round(seconds)
    if whole < 1:
        return "less than a second"
    parts = zip((whole // 3600, whole // 60 % 60, whole % 60), ("hour", "minute", "second"), strict=True)
    return " ".join(f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in parts if n)


def _say_bytes(size: int) -> str:
    if size < 1_000_000:
        return f"{max(1, round(size / 1000))} KB"
    return f"{size / 1_000_000:.1f}".removesuffix(".0") + " MB"
