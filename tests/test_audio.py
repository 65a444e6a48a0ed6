"""probe_audio accepts recordings by what they contain and refuses everything else in plain words."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import av
import pytest
from audio import FORMATS, convert, speak

from pipelines.audio import AudioError, audio_digest, probe_audio, read_samples

SPOKEN = "Sam from the befriending service visits every Tuesday. We have tea and talk about the garden."
EXTENSIONS = {"wav": "wav", "mp3": "mp3", "ogg": "ogg", "opus": "opus", "webm": "webm", "m4a": "m4a", "flac": "flac"}


def tool(*args: str | Path) -> None:
    subprocess.run([str(a) for a in args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("audio")


@pytest.fixture(scope="module")
def wav(folder) -> Path:
    return speak(SPOKEN, folder, "spoken")


@pytest.fixture(scope="module")
def recordings(folder, wav) -> dict[str, Path]:
    """The same words in every format, each renamed `.upload` so only the content can tell."""
    made = {}
    for fmt in FORMATS:
        encoded = convert(wav, fmt, folder / f"as-{fmt}")
        made[fmt] = encoded.rename(folder / f"{fmt}.upload")
    return made


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_each_format_phones_and_browsers_make_is_accepted_by_content(recordings, wav, fmt):
    info = probe_audio(recordings[fmt])
    assert info.extension == EXTENSIONS[fmt]
    assert info.duration == pytest.approx(probe_audio(wav).duration, abs=0.1)
    assert info.sample_rate > 0 and info.channels == 1


def test_a_browser_recording_without_a_length_in_its_header_is_measured_by_decoding(recordings, wav):
    with av.open(str(recordings["webm"])) as container:
        assert container.duration is None  # as Chrome's MediaRecorder writes it
    assert probe_audio(recordings["webm"]).duration == pytest.approx(probe_audio(wav).duration, abs=0.1)


def cut_in_half(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda f, r: f.joinpath("story.mp3").write_bytes(b"%PDF-1.7\n" + b"\x00\x9c" * 4000), "(it looks like a PDF)"),
        (lambda f, r: f.joinpath("notes.wav").write_text("Visit notes: Margaret seemed brighter.\n" * 50), "like a text file"),
        (lambda f, r: f.joinpath("empty.m4a").write_bytes(b""), "The file is empty"),
        (lambda f, r: f.joinpath("noise.webm").write_bytes(bytes(range(256)) * 40), "not audio we can read"),
        (lambda f, r: cut_in_half(r["wav"], f / "cut.wav"), "cut off"),
        (lambda f, r: cut_in_half(r["mp3"], f / "cut.mp3"), "cut off"),
        (lambda f, r: cut_in_half(r["flac"], f / "cut.flac"), "cut off"),
    ],
    ids=["pdf-named-mp3", "text", "empty", "random-bytes", "truncated-wav", "truncated-mp3", "truncated-flac"],
)
def test_files_that_are_not_whole_recordings_are_refused_in_plain_words(tmp_path, recordings, make, message):
    make(tmp_path, recordings)
    with pytest.raises(AudioError, match=message.replace("(", r"\(").replace(")", r"\)")):
        probe_audio(next(tmp_path.iterdir()))


def test_a_silent_recording_is_refused(tmp_path):
    tool("sox", "-n", "-r", "16000", "-c", "1", tmp_path / "silence.wav", "trim", "0", "3")
    with pytest.raises(AudioError, match="silent"):
        probe_audio(tmp_path / "silence.wav")


def test_videos_are_refused_with_or_without_sound(tmp_path, wav):
    picture = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=5", "-t", "2", "-c:v", "mpeg4"]
    tool("ffmpeg", "-y", "-loglevel", "error", *picture, tmp_path / "silent.mp4")
    tool("ffmpeg", "-y", "-loglevel", "error", *picture, "-i", wav, "-c:a", "aac", "-shortest", tmp_path / "talking.mp4")
    with pytest.raises(AudioError, match="This file is a video with no sound track"):
        probe_audio(tmp_path / "silent.mp4")
    with pytest.raises(AudioError, match="sound recordings only"):
        probe_audio(tmp_path / "talking.mp4")


def test_a_long_recording_is_refused_with_its_length_and_the_limit(tmp_path):
    # 42 minutes of quiet compresses to almost nothing, and the header alone settles it.
    quiet = ["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", str(42 * 60), "-c:a", "flac"]
    tool("ffmpeg", "-y", "-loglevel", "error", *quiet, tmp_path / "visit.flac")
    with pytest.raises(AudioError, match=r"^The recording is 42 minutes long; the limit is 30 minutes\.$"):
        probe_audio(tmp_path / "visit.flac", max_seconds=30 * 60)


def test_the_length_limit_holds_where_the_header_gives_no_length(recordings):
    with pytest.raises(AudioError, match=r"The recording is \d+ seconds long; the limit is 2 seconds\."):
        probe_audio(recordings["webm"], max_seconds=2)


def test_a_big_file_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.wav"
    with big.open("wb") as file:
        file.truncate(210_000_000)  # sparse: no disk used, and the size check comes first
    with pytest.raises(AudioError, match=r"^The file is 210 MB; the limit is 200 MB\.$"):
        probe_audio(big, max_bytes=200_000_000)


def test_recordings_are_stored_by_content(recordings, tmp_path):
    copy = shutil.copy(recordings["m4a"], tmp_path / "renamed.bin")
    assert audio_digest(copy) == audio_digest(recordings["m4a"]) == hashlib.sha256(copy.read_bytes()).hexdigest()
    assert audio_digest(recordings["mp3"]) != audio_digest(recordings["m4a"])


def test_samples_come_out_mono_16_bit_at_16_khz(recordings):
    samples = read_samples(recordings["opus"])
    assert samples.dtype.name == "int16" and samples.ndim == 1
    assert len(samples) / 16_000 == pytest.approx(probe_audio(recordings["opus"]).duration, abs=0.1)
    assert abs(samples.astype(int)).max() > 1000  # speech, not silence
