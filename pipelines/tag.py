"""Suggest wellbeing outcome tags for a story: domain, direction and evidence.

Reading order: the public API (tag_text, tag_texts, framework_provenance), evaluation against
labelled stories, and audio times (its commands are in stories/cli_tools.py). The spaCy pipeline lives in
pipelines.outcome_pipeline (imported lazily, so importing this module does not load spaCy),
the direction rules in stories.direction (their cue words in frameworks/direction-cues.jsonl, their
grammar words in stories/data/direction/), and the frameworks themselves are data loaded and
checked by stories.frameworks.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from stories import direction
from stories.frameworks import (
    DEFAULT_FRAMEWORK,
    Framework,
    FrameworkError,
    default_framework,
    load_framework,
)
from stories.outcomes import DIRECTIONS
from stories.wordlists import DATA

__all__ = [
    "Framework",
    "FrameworkError",
    "Suggestion",
    "evaluate",
    "framework_provenance",
    "load_framework",
    "read_examples",
    "tag_text",
    "tag_texts",
]

PERSON_LEVEL = ("person",)
TAGGER_RELEASE = "1.3"


@dataclass(frozen=True)
class Suggestion:
    """One suggested outcome tag: a domain, the sentence that shows it and, only where the rules
    are measured to be right, a direction.

    `direction` is None unless this kind of reading was right at least TRUSTED_PRECISION of the time
    on real stories (stories.direction.trusted); then `direction_confidence` is that measured share.
    `reading` is what the direction rules read either way: kept for evaluation, never offered.
    """

    domain: str
    direction: str | None
    start: int
    end: int
    evidence: str
    confidence: float
    rule: str
    direction_confidence: float | None = None
    reading: str = "mentioned"
    basis: str = ""
    audio_start: float | None = None
    audio_end: float | None = None

    def as_dict(self) -> dict[str, Any]:
        keys = ("domain", "direction", "direction_confidence", "start", "end", "evidence", "confidence", "rule")
        return {key: getattr(self, key) for key in keys}


def tag_text(
    text: str,
    segments: list[dict] | None = None,
    framework: Framework | None = None,
    *,
    levels: tuple[str, ...] = PERSON_LEVEL,
) -> list[Suggestion]:
    """Suggest one tag per framework domain the story speaks about, with its evidence sentence.

    `segments` are transcript segments ({"start", "end", "text"}) whose texts joined with
    single spaces make up `text`; when given, each suggestion carries the audio time of its
    evidence sentence. Community-level domains are only suggested when `levels` asks for them.
    """
    framework = framework or default_framework()
    if not text.strip():
        return []
    doc = _pipeline(framework)(text)
    return _suggestions(doc, text, framework, levels, _segment_offsets(segments, text))


def tag_texts(
    texts: Iterable[str],
    framework: Framework | None = None,
    *,
    levels: tuple[str, ...] = PERSON_LEVEL,
    batch_size: int = 64,
) -> Iterator[list[Suggestion]]:
    """Tag many stories at once (nlp.pipe); yields one list of suggestions per text."""
    framework = framework or default_framework()
    pairs = ((text, text) for text in texts)  # the text alongside: rebuilding doc.text is slow
    for doc, text in _pipeline(framework).pipe(pairs, batch_size=batch_size, as_tuples=True):
        yield _suggestions(doc, text, framework, levels, None)


def framework_provenance(framework: Framework | None = None) -> dict[str, str]:
    """What a stored tag should record about how it was suggested."""
    framework = framework or default_framework()
    return {
        "framework_id": framework.id,
        "framework_name": framework.name,
        "framework_version": framework.version,
        "spacy_version": metadata.version("spacy"),
        "tagger_version": _tagger_version(),
    }


@functools.cache
def _tagger_version() -> str:
    """The release plus a hash of the rules (code, cue words and grammar words), so any change shows."""
    from pipelines import outcome_pipeline

    digest = hashlib.sha256()
    grammar = sorted((DATA / "direction").glob("*.txt"))
    for path in (
        __file__,
        direction.__file__,
        outcome_pipeline.__file__,
        direction.cues_path(),
        direction.trust_path(),
        *grammar,
    ):
        if Path(path).is_file():  # a frameworks folder of one's own may have no trust file: nothing is offered
            digest.update(Path(path).read_bytes())
    return f"{TAGGER_RELEASE}+{digest.hexdigest()[:8]}"


def _pipeline(framework: Framework) -> Any:
    from pipelines.outcome_pipeline import pipeline  # imports spaCy only when first needed

    return pipeline(framework)


def _suggestions(
    doc: Any,
    text: str,
    framework: Framework,
    levels: tuple[str, ...],
    offsets: list[tuple[int, int, float, float]] | None,
) -> list[Suggestion]:
    wanted = framework.domain_ids(levels)
    found = {item[0]: item for item in doc._.storybank_outcomes}
    suggestions = []
    for domain in wanted:
        if domain not in found:
            continue
        _, reading, start, end, confidence, rule, basis = found[domain]
        evidence = text[start:end]
        start, end = start + len(evidence) - len(evidence.lstrip()), end - len(evidence) + len(evidence.rstrip())
        audio_start, audio_end = _audio_times(offsets, start, end)
        # Only the framework the rules were measured on can have a trusted direction.
        measured = direction.trusted(domain, basis) if framework.id == DEFAULT_FRAMEWORK else None
        suggestions.append(
            Suggestion(
                domain,
                reading if measured is not None else None,
                start,
                end,
                text[start:end],
                confidence,
                rule,
                direction_confidence=measured,
                reading=reading,
                basis=basis,
                audio_start=audio_start,
                audio_end=audio_end,
            )
        )
    return suggestions


# ---------------------------------------------------------------- evaluation


def evaluate(examples: Iterable[dict[str, Any]], framework: Framework | None = None) -> dict[str, Any]:
    """Per-domain precision/recall/F1, micro-F1, and the directions against human labels.

    Each example is {"text": ..., "labels": {domain: direction}}. Directions count only domains that
    both the human and the tagger marked present ("pairs"): `suggested_direction` is the precision of
    the directions the tagger offers and their coverage (the share of pairs that got one);
    `direction_accuracy` is how often the rules' own reading (offered or not) agrees, a regression
    guard for the rules rather than anything a worker sees.
    """
    framework = framework or default_framework()
    examples = list(examples)
    domains = framework.domain_ids(PERSON_LEVEL)
    counts = {d: {"tp": 0, "fp": 0, "fn": 0} for d in domains}
    confusion: dict[str, dict[str, int]] = {d: dict.fromkeys(DIRECTIONS, 0) for d in DIRECTIONS}
    offered = right = 0
    predictions = tag_texts((e["text"] for e in examples), framework)
    for example, suggestions in zip(examples, predictions, strict=True):
        gold = {d: v for d, v in example["labels"].items() if d in counts}
        guessed = {s.domain: s for s in suggestions}
        for domain in domains:
            if domain in gold and domain in guessed:
                counts[domain]["tp"] += 1
                confusion[gold[domain]][guessed[domain].reading] += 1
                if guessed[domain].direction is not None:
                    offered += 1
                    right += guessed[domain].direction == gold[domain]
            elif domain in guessed:
                counts[domain]["fp"] += 1
            elif domain in gold:
                counts[domain]["fn"] += 1
    per_domain = {d: _prf(**c) | {"support": c["tp"] + c["fn"]} for d, c in counts.items()}
    totals = {k: sum(c[k] for c in counts.values()) for k in ("tp", "fp", "fn")}
    agreed = sum(confusion[d][d] for d in DIRECTIONS)
    judged = sum(sum(row.values()) for row in confusion.values())
    return {
        "examples": len(examples),
        "per_domain": per_domain,
        "micro": _prf(**totals),
        "suggested_direction": {
            "precision": round(right / offered, 3) if offered else None,
            "right": right,
            "suggested": offered,
            "coverage": round(offered / judged, 3) if judged else 0.0,
        },
        "direction_accuracy": round(agreed / judged, 3) if judged else 0.0,
        "direction_pairs": judged,
        "direction_confusion": confusion,
    }


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def read_examples(path: str) -> list[dict[str, Any]]:
    """Labelled stories from a JSONL file; a bad line is reported by its number."""
    examples = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                example = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: line {number}: not valid JSON ({exc.msg})") from exc
            if not isinstance(example.get("text"), str) or not isinstance(example.get("labels"), dict):
                raise ValueError(f"{path}: line {number}: needs 'text' and a 'labels' object")
            examples.append(example)
    return examples


# ---------------------------------------------------------------- CLI: thin commands for the storybank CLI
# ---------------------------------------------------------------- audio times


def _segment_offsets(segments: list[dict] | None, text: str) -> list[tuple[int, int, float, float]] | None:
    """Character range and audio time of each segment, or None if they don't make up the text."""
    if not segments:
        return None
    for clean in (False, True):  # Whisper segment texts usually start with a space
        pieces = [str(s["text"]).strip() if clean else str(s["text"]) for s in segments]
        if " ".join(pieces) == text:
            break
    else:
        return None
    offsets, cursor = [], 0
    for piece, segment in zip(pieces, segments, strict=True):
        offsets.append((cursor, cursor + len(piece), float(segment["start"]), float(segment["end"])))
        cursor += len(piece) + 1
    return offsets


def _audio_times(offsets: list[tuple[int, int, float, float]] | None, start: int, end: int) -> tuple[float | None, float | None]:
    # Whole segments, not interpolation: playback must include the start of the sentence.
    if not offsets:
        return None, None
    ends = [o[1] for o in offsets]
    first = min(bisect.bisect_right(ends, start), len(offsets) - 1)
    last = max(first, min(bisect.bisect_left(ends, end), len(offsets) - 1))
    return offsets[first][2], offsets[last][3]
