"""Suggest wellbeing outcome tags for a story: domain, direction and evidence (spaCy rules).

The only module that imports spaCy, and only inside functions: the pipeline is built once per
framework version, on first use. Reading order: the public API (tag_text, tag_texts,
framework_provenance), evaluation against labelled stories, the two click commands, the spaCy
pipeline (a blank English model, the lookup lemmatizer, a sentencizer, the framework's span
rules and the direction component), the direction rules, audio times, and last the cue words.
Frameworks themselves are data, loaded and checked by stories.frameworks.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import itertools
import json
import math
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import click

from stories.frameworks import (
    CONTEXT_LABEL,
    Framework,
    FrameworkError,
    default_framework,
    load_framework,
)

__all__ = [
    "Framework",
    "FrameworkError",
    "Suggestion",
    "eval_tagger_command",
    "evaluate",
    "framework_provenance",
    "load_framework",
    "read_examples",
    "tag_command",
    "tag_text",
    "tag_texts",
]

SPANS_KEY = "storybank_outcomes"
DIRECTIONS = ("improved", "worsened", "mixed", "mentioned")
PERSON_LEVEL = ("person",)
TAGGER_RELEASE = "1.0"

_LOCK = threading.Lock()
_PIPELINES: dict[str, Any] = {}


@dataclass(frozen=True)
class Suggestion:
    """One suggested outcome tag: a domain, its direction and the sentence that shows it."""

    domain: str
    direction: str
    start: int
    end: int
    evidence: str
    confidence: float
    rule: str
    audio_start: float | None = None
    audio_end: float | None = None

    def as_dict(self) -> dict[str, Any]:
        keys = ("domain", "direction", "start", "end", "evidence", "confidence", "rule")
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
    for doc in _pipeline(framework).pipe(texts, batch_size=batch_size):
        yield _suggestions(doc, doc.text, framework, levels, None)


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
    """The release plus a hash of this module, so any change to the rules changes provenance."""
    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:8]
    return f"{TAGGER_RELEASE}+{digest}"


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
        _, direction, start, end, confidence, rule = found[domain]
        evidence = text[start:end]
        start, end = start + len(evidence) - len(evidence.lstrip()), end - len(evidence) + len(evidence.rstrip())
        audio_start, audio_end = _audio_times(offsets, start, end)
        suggestions.append(
            Suggestion(domain, direction, start, end, text[start:end], confidence, rule,
                       audio_start, audio_end)
        )
    return suggestions


# ---------------------------------------------------------------- evaluation


def evaluate(
    examples: Iterable[dict[str, Any]], framework: Framework | None = None
) -> dict[str, Any]:
    """Per-domain precision/recall/F1, micro-F1 and direction accuracy against human labels.

    Each example is {"text": ..., "labels": {domain: direction}}. Direction accuracy counts
    only domains that both the human and the tagger marked present.
    """
    framework = framework or default_framework()
    examples = list(examples)
    domains = framework.domain_ids(PERSON_LEVEL)
    counts = {d: {"tp": 0, "fp": 0, "fn": 0} for d in domains}
    confusion: dict[str, dict[str, int]] = {d: dict.fromkeys(DIRECTIONS, 0) for d in DIRECTIONS}
    predictions = tag_texts((e["text"] for e in examples), framework)
    for example, suggestions in zip(examples, predictions, strict=True):
        gold = {d: v for d, v in example["labels"].items() if d in counts}
        guessed = {s.domain: s.direction for s in suggestions}
        for domain in domains:
            if domain in gold and domain in guessed:
                counts[domain]["tp"] += 1
                confusion[gold[domain]][guessed[domain]] += 1
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


def _framework_option(value: str | None) -> Framework:
    try:
        return load_framework(value) if value else default_framework()
    except FrameworkError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("tag")
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
@click.option("--json", "as_json", is_flag=True, help="Print suggestions as a JSON list.")
@click.option("--framework", "framework_path", help="Framework YAML/CSV file or name.")
def tag_command(file: Any, as_json: bool, framework_path: str | None) -> None:
    """Suggest wellbeing outcome tags for a story in FILE (or standard input).

    Example: storybank tag story.txt --framework five-ways
    """
    suggestions = tag_text(file.read(), framework=_framework_option(framework_path))
    if as_json:
        click.echo(json.dumps([s.as_dict() for s in suggestions], indent=2, ensure_ascii=False))
        return
    if not suggestions:
        click.echo("No outcome suggestions.")
    for s in suggestions:
        click.echo(f"{s.domain:<20} {s.direction:<9} {s.confidence:.2f}  [{s.start}:{s.end}] {s.rule}")
        click.echo(f"    {s.evidence}")


@click.command("eval-tagger")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--framework", "framework_path", help="Framework YAML/CSV file or name.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
def eval_tagger_command(file: str, framework_path: str | None, as_json: bool) -> None:
    """Score the tagger against human-labelled stories in FILE.jsonl.

    Each line: {"text": "...", "labels": {"health": "improved", ...}}.
    Example: storybank eval-tagger tests/data/outcomes_dev.jsonl
    """
    try:
        examples = read_examples(file)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    report = evaluate(examples, _framework_option(framework_path))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"{'domain':<20} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>4}")
    for domain, row in report["per_domain"].items():
        click.echo(
            f"{domain:<20} {row['precision']:>6.3f} {row['recall']:>6.3f} {row['f1']:>6.3f} "
            f"{row['support']:>4}"
        )
    micro = report["micro"]
    click.echo(f"{'micro':<20} {micro['precision']:>6.3f} {micro['recall']:>6.3f} {micro['f1']:>6.3f}")
    click.echo(
        f"direction accuracy {report['direction_accuracy']:.3f} over "
        f"{report['direction_pairs']} domains both marked ({report['examples']} stories)"
    )


# ---------------------------------------------------------------- the spaCy pipeline


def _pipeline(framework: Framework) -> Any:
    """The pipeline for a framework, built once per framework version."""
    with _LOCK:
        nlp = _PIPELINES.get(framework.version)
        if nlp is None:
            nlp = _PIPELINES[framework.version] = _build_pipeline(framework)
        return nlp


def _build_pipeline(framework: Framework) -> Any:
    import spacy

    _register_components()
    nlp = spacy.blank("en")
    nlp.add_pipe("storybank_lemmatizer")  # spaCy's lookup lemmatizer, on lower-cased words
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("storybank_transcript_breaks")
    ruler = nlp.add_pipe("storybank_outcome_ruler")
    nlp.add_pipe("storybank_outcome_direction")
    nlp.initialize()
    ruler.add_patterns(framework.patterns)  # phrase patterns need the initialised lemmatizer
    return nlp


def _register_components() -> None:
    from spacy.language import Language
    from spacy.tokens import Doc

    if not Doc.has_extension("storybank_outcomes"):
        Doc.set_extension("storybank_outcomes", default=())
    if not Language.has_factory("storybank_outcome_direction"):
        Language.factory("storybank_lemmatizer", func=_make_lemmatizer)
        Language.component("storybank_transcript_breaks", func=_transcript_breaks)
        Language.factory("storybank_outcome_ruler", func=lambda nlp, name: _OutcomeRuler(nlp))
        Language.factory("storybank_outcome_direction", func=_make_outcome_direction)


def _make_lemmatizer(nlp: Any, name: str) -> Any:
    """spaCy's lookup lemmatizer (spacy-lookups-data tables, loaded by nlp.initialize()).

    The stock component looks words up by their exact text, so "My" or a sentence-initial
    "Lost" keep their capitals and escape lower-case patterns; this one looks up the lower-cased
    word, once per distinct word, and writes all lemmas in one array call.
    """
    from spacy.attrs import LEMMA, LOWER
    from spacy.pipeline import Lemmatizer

    class LowerCaseLookupLemmatizer(Lemmatizer):
        def __call__(self, doc: Any) -> Any:
            table = self.lookups.get_table("lemma_lookup")
            strings, cache = doc.vocab.strings, self.cache
            lowers = doc.to_array(LOWER)
            lemmas = lowers.copy()
            for i, key in enumerate(lowers.tolist()):
                lemma = cache.get(key)
                if lemma is None:
                    word = strings[key]
                    lemma = cache[key] = strings.add(table.get(word, word).lower())
                lemmas[i] = lemma
            doc.from_array([LEMMA], lemmas.reshape(-1, 1))
            return doc

    lemmatizer = LowerCaseLookupLemmatizer(nlp.vocab, None, name, mode="lookup", overwrite=True)
    lemmatizer.cache = {}
    return lemmatizer


def _transcript_breaks(doc: Any) -> Any:
    """Split very long unpunctuated sentences (typical of transcripts) at discourse markers."""
    for sent in list(doc.sents):
        if len(sent) <= LONG_SENTENCE:
            continue
        last = sent.start
        for i in range(sent.start + 1, sent.end - 1):
            low, following = doc[i].lower_, doc[i + 1].lower_
            previous = doc[i - 1].lower_
            marker = (
                low in FILLERS
                or low == "but"
                or (low in CLAUSE_LINKS and following in SUBJECTS)
                or (low == "i" and previous not in BEFORE_I)  # "...a week now I still have..."
            )
            if marker and i - last >= 8:
                doc[i].is_sent_start = True
                last = i
    return doc


class _OutcomeRuler:
    """Framework patterns as spans in doc.spans[SPANS_KEY], like spaCy's SpanRuler.

    Phrase patterns match on lower-cased lemmas. Token patterns that only test LOWER or LEMMA
    (with "IN" lists and optional tokens) are compiled into phrase matchers: the same matches,
    but hash look-ups instead of a Python predicate per token, which is what keeps tagging fast.
    """

    def __init__(self, nlp: Any) -> None:
        from spacy.matcher import Matcher, PhraseMatcher

        self.nlp = nlp
        self.matcher = Matcher(nlp.vocab, validate=True)
        self.phrases = {attr: PhraseMatcher(nlp.vocab, attr=attr) for attr in ("LOWER", "LEMMA")}
        self.rules: dict[int, tuple[str, str]] = {}

    def add_patterns(self, patterns: Iterable[dict[str, Any]]) -> None:
        from spacy.tokens import Doc

        texts: list[tuple[str, str]] = []
        for entry in patterns:
            key = f"{entry['label']}\t{entry['id']}"
            self.rules[self.nlp.vocab.strings.add(key)] = (entry["label"], entry["id"])
            pattern = entry["pattern"]
            compiled = None if isinstance(pattern, str) else _as_phrases(pattern)
            if isinstance(pattern, str):
                texts.append((key, pattern))
            elif compiled is None:
                self.matcher.add(key, [pattern])
            else:
                attr, phrases = compiled
                lemmas = (lambda words: words) if attr == "LEMMA" else (lambda words: None)
                docs = [Doc(self.nlp.vocab, words=list(p), lemmas=lemmas(list(p))) for p in phrases]
                self.phrases[attr].add(key, docs)
        with self.nlp.select_pipes(enable=["storybank_lemmatizer"]):
            for (key, _), doc in zip(texts, self.nlp.pipe(text for _, text in texts), strict=True):
                self.phrases["LEMMA"].add(key, [doc])

    def __call__(self, doc: Any) -> Any:
        from spacy.tokens import Span

        matches = set(self.matcher(doc)) if len(self.matcher) else set()
        for matcher in self.phrases.values():
            matches.update(matcher(doc))
        spans = []
        for key, start, end in sorted(matches, key=lambda m: (m[1], m[2])):
            label, rule = self.rules[key]
            spans.append(Span(doc, start, end, label=label, span_id=rule))
        doc.spans[SPANS_KEY] = spans
        return doc


def _as_phrases(pattern: list[dict[str, Any]], limit: int = 5000) -> tuple[str, list[tuple[str, ...]]] | None:
    """A token pattern testing only LOWER or only LEMMA, spelled out as phrases (or None)."""
    attr, options = None, []
    for token in pattern:
        keys = [k for k in token if k != "OP"]
        if len(keys) != 1 or token.get("OP") not in (None, "?"):
            return None
        key, value = keys[0].upper(), token[keys[0]]
        if key not in ("LOWER", "LEMMA") or attr not in (None, key):
            return None
        attr = key
        if isinstance(value, dict) and list(value) == ["IN"]:
            value = value["IN"]
        words = [value] if isinstance(value, str) else value
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            return None
        options.append([w.lower() for w in words] + ([""] if token.get("OP") == "?" else []))
    if attr is None or math.prod(len(o) for o in options) > limit:
        return None
    phrases = {tuple(w for w in combo if w) for combo in itertools.product(*options)}
    return attr, sorted(p for p in phrases if p)


def _make_outcome_direction(nlp: Any, name: str) -> Any:
    from spacy.matcher import PhraseMatcher

    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    kinds = {}
    for kind, (words, phrases) in CUES.items():
        entries = words.split() + [p.strip() for p in phrases.split(";") if p.strip()]
        kinds[nlp.vocab.strings.add(kind)] = kind
        matcher.add(kind, [nlp.make_doc(entry) for entry in entries])

    def outcome_direction(doc: Any) -> Any:
        cues = _longest_first((s, e, kinds[m]) for m, s, e in matcher(doc))
        doc._.storybank_outcomes = tuple(_decide(_Words(doc), _domain_spans(doc), cues))
        return doc

    return outcome_direction


# ---------------------------------------------------------------- deciding direction
#
# How a direction is decided, in brief: the story is cut into sentences and clauses; in each
# clause, cue words (below) are read against the domain words the framework matched there.
# A change word applies to the nearest state or domain word ("stopped" + "panic attacks" is
# better, "stopped" + "going out" is worse); negators flip what follows them; each cue counts
# in full for the domain nearest it. Over the whole story, a domain is improved if it got
# better (or a told problem is followed by a clearly better story), worsened if it only got
# worse, mixed if better and then worse again or explicitly fragile, and otherwise mentioned.


class _Words:
    """The few token facts the direction rules read, pulled out of the Doc in one pass each."""

    def __init__(self, doc: Any) -> None:
        from spacy.attrs import IS_ALPHA, IS_TITLE, LEMMA, LOWER

        strings = doc.vocab.strings
        self.sents = [(s.start, s.end, s.start_char, s.end_char) for s in doc.sents]
        self.lower = [strings[h] for h in doc.to_array(LOWER).tolist()]
        self.lemma = [strings[h] for h in doc.to_array(LEMMA).tolist()]
        self.title = doc.to_array(IS_TITLE).tolist()
        self.alpha = doc.to_array(IS_ALPHA).tolist()


@dataclass(frozen=True)
class _Signal:
    """What one clause says: change (> 0 better), state (> 0 good), tense, and fragility."""

    change: float
    state: float
    tense: str
    fragile: float  # 1: recovery told as insecure ("bad days"); 0.5: a hedge ("still", "sometimes")
    steady: bool = False  # "still enjoys his allotment": a good state that has not changed


def _longest_first(matches: Iterable[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    kept: list[tuple[int, int, str]] = []
    taken: set[int] = set()
    for start, end, kind in sorted(matches, key=lambda m: (m[0] - m[1], m[0])):
        if not taken.intersection(range(start, end)):
            kept.append((start, end, kind))
            taken.update(range(start, end))
    return sorted(kept)


def _domain_spans(doc: Any) -> list[tuple[int, int, str, str]]:
    """Domain matches, minus those inside a service name or inside a longer match elsewhere."""
    spans = [(s.start, s.end, s.label_, s.id_) for s in doc.spans.get(SPANS_KEY, [])]
    masks = [(s, e) for s, e, label, _ in spans if label == CONTEXT_LABEL]
    kept = []
    for start, end, label, rule in spans:
        if label == CONTEXT_LABEL or any(s < end and start < e and e - s >= end - start for s, e in masks):
            continue
        if any(
            other != label and s <= start and end <= e and e - s > end - start
            for s, e, other, _ in spans
        ):
            continue
        kept.append((start, end, label, rule))
    return sorted(kept)


def _clause_starts(words: _Words, start: int, end: int, cue_starts: dict[int, str]) -> list[int]:
    lower, starts = words.lower, [start]
    for i in range(start + 1, end - 1):
        low, following = lower[i], lower[i + 1]
        opener = following in CLAUSE_OPENERS or words.title[i + 1]
        if (
            (cue_starts.get(i) == "CONTRAST" and opener)
            or (low == "," and (following in PRONOUNS or words.title[i + 1]))
            or low in CLAUSE_PUNCT
            or (low in CLAUSE_LINKS and following in SUBJECTS)
        ):
            starts.append(i)
    return starts


def _decide(
    words: _Words, spans: list[tuple[int, int, str, str]], cues: list[tuple[int, int, str]]
) -> list[tuple[str, str, int, int, float, str]]:
    if not spans:
        return []
    sents = words.sents
    cue_starts = {s: kind for s, _, kind in cues}
    span_starts = [s for s, _, _, _ in spans]
    moods = [0.0] * len(sents)
    by_domain: dict[str, list[tuple[tuple[int, int], _Signal]]] = {}
    recent: tuple[int, list[str]] = (-9, [])  # the last clause that named a domain
    for si, (sent_start, sent_end, _, _) in enumerate(sents):
        starts = _clause_starts(words, sent_start, sent_end, cue_starts)
        for ci, cs in enumerate(starts):
            ce = starts[ci + 1] if ci + 1 < len(starts) else sent_end
            mine = spans[bisect.bisect_left(span_starts, cs) : bisect.bisect_left(span_starts, ce)]
            signals = _clause_signals(words, cs, ce, cues, mine)
            story = signals.pop(STORY)
            moods[si] += story.change + story.state / 2
            if ci == 0 and _first_word(words, sent_start, sent_end) in NOW_WORDS:
                moods[si] += 0.5  # "At first I was afraid to speak. Now I put my hand up."
            for domain, signal in signals.items():
                by_domain.setdefault(domain, []).append(((si, ci), signal))
            if signals:
                recent = (si, list(signals))
            elif story.fragile and si - recent[0] <= 1:
                # "The group helped my depression. I still have bad days": the same domain
                for domain in recent[1]:
                    by_domain[domain].append(((si, ci), _Signal(0.0, 0.0, story.tense, story.fragile)))
    rules: dict[str, list[tuple[int, str]]] = {}
    for start, _, label, rule in spans:
        rules.setdefault(label, []).append((start, rule))
    results = []
    for domain, keyed in by_domain.items():
        direction, best = _direction(keyed, moods)
        sent_start, sent_end, start_char, end_char = sents[best[0]]
        hits = rules[domain]
        rule = next((r for start, r in hits if sent_start <= start < sent_end), hits[0][1])
        confidence = _confidence(len(hits), direction, [sig for _, sig in keyed])
        results.append((domain, direction, start_char, end_char, confidence, rule))
    return results


def _first_word(words: _Words, start: int, end: int) -> str:
    return next((words.lower[i] for i in range(start, end) if words.alpha[i]), "")


def _clause_signals(
    words: _Words, cs: int, ce: int, cues: list[tuple[int, int, str]], spans: list[tuple[int, int, str, str]]
) -> dict[str, _Signal]:
    """What one clause says about each domain mentioned in it, and about the story as a whole."""
    items = [c for c in cues[bisect.bisect_left(cues, (cs, -1, "")) :] if c[0] < ce]
    kinds = {kind for _, _, kind in items}
    mine = [(s, e, label) for s, e, label, _ in spans]
    changes, states, news = _read_clause(words, cs, ce, items, kinds, mine)
    tense = _tense(words, cs, ce, kinds)
    hedges = [(s, 1.0 if kind == "FRAGILE" else 0.5) for s, _, kind in items if kind in ("FRAGILE", "SOMETIMES")]
    still = [s for s, _, kind in items if kind == "STILL"]
    story_state = sum(v for _, v in states)
    story_hedge = max([v for _, v in hedges] + [0.5 if still and story_state < 0 else 0.0])
    result = {STORY: _Signal(sum(v for _, v in changes) + 0.5 * news, story_state, tense, story_hedge)}
    for domain in {label for _, _, label in mine}:
        state = _attributed(states, domain, mine)
        fragile = max((v for pos, v in hedges if _is_nearest(pos, domain, mine)), default=0.0)
        if state < 0 and any(_is_nearest(pos, domain, mine) for pos in still):
            fragile = max(fragile, 0.5)
        result[domain] = _Signal(_attributed(changes, domain, mine), state, tense, fragile, bool(still))
    return result


def _polar_items(
    words: _Words, items: list[tuple[int, int, str]], kinds: set[str], mine: list[tuple[int, int, str]]
) -> list[tuple[int, int, float]]:
    """What a change can apply to: state words with their polarity, then bare domain words."""
    polarity = {"GOOD": 1.0, "BAD": -1.0, "COST": COST_OBJECT}
    if "BAD" not in kinds and "NEG" not in kinds:
        polarity["REGULAR"] = 1.0
    polar = [(s, e, polarity[kind]) for s, e, kind in items if kind in polarity]
    return polar + [
        (s, e, NEUTRAL_OBJECT)
        for s, e, _ in mine
        if words.alpha[s] and not any(ps < e and s < pe for ps, pe, _ in polar)  # not "£"
    ]


def _read_clause(
    words: _Words, cs: int, ce: int, items: list[tuple[int, int, str]], kinds: set[str], mine: list[tuple[int, int, str]]
) -> tuple[list[tuple[int, float]], list[tuple[int, float]], int]:
    """The changes and states told in a clause, each at the token it is about.

    Also counts "news": a sentence-adverb "now" with nothing to apply to ("Now I go three
    mornings a week"), which is good news for the story even when no domain word is near.
    """
    lower = words.lower
    negs = [s for s, _, kind in items if kind == "NEG"]
    strong = not kinds.isdisjoint(("PLUS", "MINUS", "UP", "DOWN"))  # then "now", "since" add nothing
    hypothetical = not HYPOTHETICAL.isdisjoint(lower[cs:ce])  # "whether more hours would..."
    ops = [(s, e, k) for s, e, k in items if k in ("PLUS", "MINUS", "ABLE") or (k == "WEAK_PLUS" and not strong)]
    if negs and "CEASE_END" in kinds:  # "not lonely any more" ends a state, like "no longer"
        ops.append((negs[0], negs[0] + 1, "MINUS"))
        negs = negs[1:]
    polar = _polar_items(words, items, kinds, mine)

    def negated(pos: int, after: int = cs) -> bool:
        return any(after <= n < pos and pos - n <= 3 for n in negs)

    subjects = [i for i in range(cs + 1, ce) if lower[i] in SCOPE_ENDS]
    subordinators = frozenset(i for i in subjects if lower[i] in SUBORDINATORS)
    changes: list[tuple[int, float]] = []
    states: list[tuple[int, float]] = []
    used, news = set(), 0
    for s, e, kind in ops:
        backwards = lower[s] == "since"  # "unable to work since": the state before it
        target = _nearest(polar, s, e, subjects, backwards, subordinators)
        if target is None:
            news += kind == "WEAK_PLUS" and lower[s] in NOW_WORDS
            continue
        # "hasn't left the flat since": the negator belongs to the target, not to "since"
        negator_owned = target[0] < s and negated(target[0])
        value = -target[2] if negated(target[0], after=e) or negator_owned else target[2]
        negated_op = (negated(s) or (e < ce and lower[e] in ("n't", "not"))) and not negator_owned
        if kind == "ABLE":  # "can pay the bills" is good even though bills are a cost
            if target[0] > s and target[0] - e <= 4:
                good = target[2] != -1.0 or value > 0
                states.append((target[0], -1.0 if negated_op or not good else 1.0))
                used.add(target)
            continue
        used.add(target)
        value *= (-1.0 if kind == "MINUS" else 1.0) * (WEAK_CHANGE if kind == "WEAK_PLUS" else 1.0)
        if not hypothetical:
            changes.append((target[0], -value if negated_op else value))
    for s, e, kind in items:
        if kind in ("UP", "DOWN", "WEAK_UP"):
            value = {"UP": 1.0, "DOWN": -1.0, "WEAK_UP": WEAK_CHANGE}[kind]
            changes.append((s, -value / 2 if negated(s) else value))
            target = _nearest([p for p in polar if p[2] != NEUTRAL_OBJECT], s, e, subjects)
            if target is not None:
                used.add(target)  # "cleared the arrears": the arrears are what changed, not a state
    for target in polar:
        if target in used or target[2] == COST_OBJECT:
            continue
        if negated(target[0]):
            states.append((target[0], -0.5 if target[2] == NEUTRAL_OBJECT else -target[2]))
        elif target[2] != NEUTRAL_OBJECT:
            states.append((target[0], target[2]))
    return changes, states, news


def _attributed(values: list[tuple[int, float]], domain: str, mine: list[tuple[int, int, str]]) -> float:
    """Sum cue values for a domain: in full when it is the domain nearest the cue, else in part."""
    return sum(value if _is_nearest(pos, domain, mine) else value * ELSEWHERE for pos, value in values)


def _is_nearest(pos: int, domain: str, mine: list[tuple[int, int, str]]) -> bool:
    distance: dict[str, int] = {}
    for s, e, label in mine:
        gap = 0 if s <= pos < e else (s - pos if pos < s else pos - e + 1)
        distance[label] = min(gap, distance.get(label, gap))
    return distance[domain] <= min(distance.values()) + NEARBY


def _nearest(
    polar: list[tuple[int, int, float]],
    start: int,
    end: int,
    subjects: list[int],
    backwards: bool = False,
    subordinators: frozenset[int] = frozenset(),
) -> tuple[int, int, float] | None:
    """What a change word applies to: the closest state or domain word, preferring after it."""
    best, best_distance = None, 99.0
    ahead, behind = (10.0, 0.0) if backwards else (0.0, 2.0)
    for item in polar:
        s, e, _ = item
        if s < end and start < e:
            distance = 0.0
        elif s >= end:
            # "started school | she felt ashamed"; but "Now I coordinate" keeps its subject
            crosses = any(end < p <= s or (p == end and p in subordinators) for p in subjects)
            distance = s - end + ahead if s - end <= 8 and not crosses else 99.0
        else:
            distance = start - e + behind if start - e <= 4 else 99.0
        if item[2] == NEUTRAL_OBJECT:
            distance += 1.0  # a state word is a likelier object than a bare domain word
        if distance < best_distance:
            best, best_distance = item, distance
    return best


def _tense(words: _Words, cs: int, ce: int, kinds: set[str]) -> str:
    clause = words.lower[cs:ce]
    if "NOW" in kinds or not NOW_WORDS.isdisjoint(clause):
        return "now"
    if "PAST" in kinds:
        return "past"
    for i in range(cs, ce - 1):  # "we look out for each other", "she plays twice a week"
        subject, verb, lemma = words.lower[i], words.lower[i + 1], words.lemma[i + 1]
        if subject in PRONOUNS and verb not in PAST_VERBS and words.alpha[i + 1]:
            if lemma == verb and subject in ("i", "we", "they"):
                return "now"
            if verb.endswith("s") and lemma != verb and subject in ("she", "he"):
                return "now"
            break
    for i, low in enumerate(clause, start=cs):
        if low in NOW_VERBS:
            return "now"
        if low in PAST_VERBS or (low.endswith("ed") and words.lemma[i] != low):
            return "past"
    return "past"  # stories are told in the past unless they say otherwise


def _direction(
    signals: list[tuple[tuple[int, int], _Signal]], moods: list[float]
) -> tuple[str, tuple[int, int]]:
    """One direction over the whole story, and the clause that best shows it.

    Order matters more than tense: third-person case studies tell their outcomes in the past
    tense, so a good state counts as a change when it is present or follows a problem. A problem
    told and followed by a clearly better rest of the story ("nowhere to go ... now I cycle to
    work every morning") counts as resolved even when the outcome sentence does not name it.
    """
    better, worse, problems_now, fragile, hedged = [], [], [], [], []
    troubled = False  # has a problem or a change for the worse been told yet?
    for key, sig in signals:
        good_now = sig.state > 0 and not sig.steady and (sig.tense == "now" or troubled)
        if sig.change >= 0.5 or (sig.change > -0.5 and good_now):
            better.append(key)
        elif sig.change <= -0.5:
            worse.append(key)
        if sig.state < 0 or sig.change <= -0.5:
            troubled = True
            if sig.tense == "now" and sig.change < 0.5:
                problems_now.append(key)
        if sig.fragile >= 1.0 and (sig.tense == "now" or better):
            fragile.append(key)
        elif sig.fragile:
            hedged.append(key)
    strength = dict(signals)
    if better:
        first, last = min(better), max(better)
        if worse and max(worse) > last:  # things got better, then worse again
            return "mixed", max(worse)
        setbacks = fragile + [k for k in hedged + problems_now if k > first]
        if setbacks:
            return "mixed", max(setbacks)
        return "improved", max(better, key=lambda k: (strength[k].change + strength[k].state / 2, k))
    if worse:
        if any(k > max(worse) for k in fragile):  # a setback, then a fragile recovery
            return "mixed", max(fragile)
        resolved = _resolved_by_arc(max(k[0] for k in worse), moods)
        if resolved is not None and not problems_now:  # "after her divorce... a year on she..."
            return "improved", resolved
        return "worsened", max(worse, key=lambda k: (-strength[k].change, k))
    if fragile:
        return "mixed", max(fragile)
    # "still exhausted" with nothing better told is a continuing problem, not a mixed picture.
    if troubled and not problems_now:
        resolved = _resolved_by_arc(max(k[0] for k, sig in signals if sig.state < 0), moods)
        if resolved is not None:
            return "improved", resolved
    return "mentioned", signals[0][0]


def _resolved_by_arc(last: int, moods: list[float]) -> tuple[int, int] | None:
    """The best sentence after `last` if the rest of the story is clearly better, else None."""
    after = moods[last + 1 :]
    gain, loss = sum(m for m in after if m > 0), -sum(m for m in after if m < 0)
    if gain < ARC_GAIN or gain < 2 * loss:
        return None
    best = max(range(len(after)), key=lambda i: (after[i], -i))
    return last + 1 + best, 0


def _confidence(matches: int, direction: str, signals: list[_Signal]) -> float:
    """A rough ordering aid for reviewers: more evidence and clearer direction score higher."""
    presence = 1 - 0.55**matches
    better = sum(max(s.change, 0) + max(s.state, 0) / 2 for s in signals)
    worse = sum(max(-s.change, 0) + max(-s.state, 0) / 2 for s in signals)
    clarity = {
        "improved": better / (better + worse + 0.5),
        "worsened": worse / (better + worse + 0.5),
        "mixed": 0.5,
        "mentioned": 0.8 if better + worse == 0 else 0.4,
    }[direction]
    return round(min(0.95, 0.15 + 0.5 * presence + 0.35 * clarity), 2)


# ---------------------------------------------------------------- audio times


def _segment_offsets(
    segments: list[dict] | None, text: str
) -> list[tuple[int, int, float, float]] | None:
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


def _audio_times(
    offsets: list[tuple[int, int, float, float]] | None, start: int, end: int
) -> tuple[float | None, float | None]:
    # Whole segments, not interpolation: playback must include the start of the sentence.
    if not offsets:
        return None, None
    ends = [o[1] for o in offsets]
    first = min(bisect.bisect_right(ends, start), len(offsets) - 1)
    last = max(first, min(bisect.bisect_left(ends, end), len(offsets) - 1))
    return offsets[first][2], offsets[last][3]


# ---------------------------------------------------------------- direction cue words

# Direction cues, matched on lower-cased words: (single words, "; "-separated phrases).
# GOOD/BAD are states; UP/DOWN are changes in themselves; PLUS/MINUS are changes whose
# sign depends on what changes ("started a job" is up, "started drinking again" is down).
CUES: dict[str, tuple[str, str]] = {
    "GOOD": (
        "happy happier happiest content confident proud hopeful optimistic calm calmer relaxed "
        "relieved relief safe safer settled stable independent enjoy enjoys enjoyed enjoying "
        "enjoyment love loves loved loving glad grateful positive healthy healthier fitter "
        "stronger warm dry sober fine good great brilliant lovely amazing wonderful best "
        "useful valued worthwhile lifted afford affordable manage manages managed managing "
        "manageable cope copes coped coping comfortable properly laugh laughed laughing smile "
        "smiling motivated fun thriving successful lifeline friends mates accessible normal clean "
        "chuffed delighted thrilled",
        "doing well; going well; on top of; in control; weight lifted; weight off; like myself; "
        "like me again; sense of purpose; look forward; looks forward; looking forward; "
        "right through; up to date; debt free; debt - free; can breathe; reason to get up; "
        "made a difference; made friends; new friends; someone to talk to; my people; "
        "part of something; over the moon; look out for each other; looking out for each other; "
        "kept their home; kept our home; kept his home; kept her home; staying put; stayed put",
    ),
    "BAD": (
        "lonely lonelier loneliness isolated isolation alone withdrawn homesick anxious anxiety "
        "worried worry worries worrying scared afraid frightened terrified fear nervous stressed "
        "stress overwhelmed panic panicky desperate despair hopeless worthless useless ashamed "
        "embarrassed guilty angry upset miserable unhappy sad low depressed depression suicidal "
        "struggling struggle struggled struggles difficult tough crisis problem problems trouble "
        "pain painful ill illness sick unwell poorly exhausted tired fatigue cold freezing damp "
        "mould mouldy overcrowded homeless homelessness eviction debt debts arrears overdrawn "
        "owe owed owing skint poverty hungry unemployed redundant excluded exclusion exclusions "
        "bullied bullying abuse abusive violence violent crime unsafe dangerous addiction "
        "addicted cravings terrible awful horrible nightmare nightmares flashbacks nowhere "
        "trapped stuck bored boredom housebound hate hated snappy breathless flare "
        "temporary hostel sofa shame relapse drinking drink drunk drugs heroin cocaine crack "
        "alcohol gambling smoking funeral grief grieving bereaved overweight obese hurt hurts "
        "argue argued arguing arguments refuses refusing cried crying cry tears tearful dread "
        "dreading dreaded noise noisy dust traffic pollution broken suffered suffering suffers bailiff bailiffs "
        "possession hotel illness disease cancer stroke diabetes asthma arthritis dementia "
        "alzheimer's parkinson's eczema covid ptsd psychosis bipolar schizophrenia "
        "hurting ache aches aching broke borrow borrowed borrowing indoors hostels abused "
        "attacked assaulted harassed burgled robbed mugged threatened",
        "panic attacks; found it hard; find it hard; very hard; so hard; really hard; hard to; "
        "hard time; a fall; had a fall; falls; back pain; stayed at home; stays at home; "
        "stay at home; sat at home; at home all day; stayed in; stuck indoors; short of money; "
        "skipping meals; doing nothing; waiting list; off work; out of work; signed off; "
        "sleeping rough; slept rough; rough sleeping; "
        "sofa surfing; felt lost; feel lost; a bit lost; feels forgotten; felt forgotten; "
        "no one to talk to; nobody to talk to; no one to turn to; didn't know anyone; "
        "knew nobody; nobody listens; no one listens; odd one out; out of control; "
        "couldn't cope; behind with; behind on; in debt; no money; going mad; on edge; "
        "without seeing anyone; without speaking to anyone; feel down; feeling down; felt down; "
        "fed up; on the drink; brain fog; one room; single room; bed and breakfast; section 21; "
        "heart attack; bad back; back injury; bad patch; relying on; relied on; reliant on; dependent on",
    ),
    "UP": (
        "improve improved improves improving improvement improvements better recovered "
        "recovering resolved sorted solved fixed cleared overcome overcame progress progressed "
        "passed achieved gained completed qualified graduated secured awarded granted "
        "successful transformed blossomed flourished happier calmer safer healthier fitter "
        "stronger braver warmer easier",
        "paid off; written off; turned around; turned his life around; turned her life around; "
        "turned my life around; back on my feet; back on her feet; back on his feet; back on "
        "track; got through; got the keys; moved in; got a job; found a job; found work; "
        "changed my life; changed her life; changed his life; changed everything; a new start; "
        "fresh start; got my life back; got her life back; got his life back; made friends; "
        "got the job; got my first job; got a new job; landed a job; found a new job; second "
        "chance; new lease of life; "
        "got to know; get to know; getting to know",
    ),
    "DOWN": (
        "worse worsen worsened worsening deteriorate deteriorated deteriorating deterioration "
        "declined declining evicted sacked fired dismissed sanctioned relapsed died refused "
        "rejected harder withdrew spiralled spiralling lonelier sadder weaker separated divorced "
        "angrier sicker poorer colder",
        "got worse; getting worse; gone downhill; went downhill; fell apart; falling apart; "
        "broke down; made redundant; laid off; letting people go; split up; broke up; passed "
        "away; turned down; fell behind; fallen behind; falling behind; got into debt; dropped "
        "out; moved away; ran out; run out; running out; fell ill; taken ill; flared; flared up; "
        "partner left; husband left; wife left; left her; left him; left me; run up; ran up; "
        "racked up; lost touch; losing "
        "touch; lost interest; lose interest; losing interest; knocked her confidence; knocked "
        "his confidence; knocked my confidence; took a toll; more difficult",
    ),
    "PLUS": (
        "start started starts starting began begin begins beginning joined join joins joining "
        "increase increased increasing increases rise rose risen rising higher extra again "
        "back finally became become becoming grown grew growing regained returned return "
        "resumed more developed landed",
        "become more; became more; becoming more; moved into; move into; moving into; "
        "took up; taken up; for the first time; first time; came back; come back; gone up; "
        "went up; has gone up; have gone up; had gone up; is up; are up; was up; up to; up by",
    ),
    "WEAK_PLUS": (
        "now new since later",
        "these days; nowadays; by the time; by the summer; by the end of; over the months; over "
        "time; after a few weeks; after a few months; within weeks; within a month",
    ),
    # Help is a change for the better whatever it helped with ("helped my depression").
    "WEAK_UP": ("helped helps", "has helped; have helped; helped me; helped her; helped him"),
    # Regular activity is how outcomes are told ("she plays twice a week"): good, unless the
    # clause is about a problem ("I cried every day").
    "REGULAR": (
        "weekly fortnightly",
        "every week; twice a week; three times a week; once a week; every day; every morning; "
        "every weekend; each week; every monday; every tuesday; every wednesday; every thursday; "
        "every friday; every saturday; every sunday; on saturdays; on sundays; on fridays; on "
        "thursdays; on wednesdays; on tuesdays; on mondays; a week now; every fortnight",
    ),
    # Ability: "she can book her own appointments" is a good state, "couldn't take a job" a bad one.
    "ABLE": ("can could ca able", ""),
    "MINUS": (
        "stop stopped stops stopping quit quitting ended end ending lost lose losing loses less "
        "fewer reduce reduced reduces reducing reduction decrease decreased lower lowered "
        "cut cuts cutting halved drop dropped dropping fall falling eased disappeared vanished "
        "closed shut folded gone",
        "become less; became less; becoming less; "
        "no longer; gave up; give up; given up; cut down; come down; came down; gone down; "
        "went down; is down; are down; down to; down by; has gone; have gone; went away; "
        "has gone down; have gone down; had gone down; "
        "gone away",
    ),
    # Amounts that are better smaller: "bills went down" is good, but a bill is not a problem.
    "COST": (
        "bill bills cost costs rent rents price prices weight stone kilos symptoms interest "
        "payments repayments deductions outgoings spending",
        "blood pressure; blood sugar; hba1c; cholesterol",
    ),
    "NEG": ("not n't never no nobody nothing none nor neither without hardly barely rarely seldom unable", ""),
    "CEASE_END": ("anymore", "any more"),
    # Recovery that is real but not secure: mixed on its own ("I still have bad days").
    "FRAGILE": (
        "fragile setbacks setback relapses precarious",
        "bad days; good days and bad days; ups and downs; up and down; one day at a time; early "
        "days; long way to go; a way to go; out of the woods; on and off; flare ups; flare - ups; "
        "hit and miss; day by day; bad patches; all over the place; zero hours; zero - hours; still struggle; "
        "still struggling; still have bad; still get bad; still have my; still has her; still has his",
    ),
    # Weaker hedges: mixed only alongside a change for the better.
    "SOMETIMES": (
        "sometimes",
        "some days; some weeks; other days; at times; from time to time; not always; not every "
        "month; not every week; most months; most weeks; still "
        "waiting; still have; still get; still gets; still has",
    ),
    "STILL": ("still", ""),
    "NOW": (
        "currently today anymore",
        "these days; at the moment; at present; this year; this winter; any more",
    ),
    "PAST": (
        "before previously ago",
        "used to; at first; at the time; back then; in the past; last year; last winter; "
        "when i first; when she first; when he first; when they first; at one point; had been",
    ),
    "CONTRAST": ("but however though although whereas yet", "even so; apart from"),
    # Fixed phrases that contain cue words but are not cues ("set up", "more than", "drop-in").
    "IGNORE": (
        "",
        "more than; no more than; less than; set up; sets up; signed up; sign up; picked up; "
        "pick up; turned up; ended up; end up; grew up; brought up; looked up; came up; "
        "drop in; drop - in; drop - ins; at the end; in the end; on reduced hours; "
        "as well; not only; not just; no matter; at least; "
        "in case; first of all; at first; what it was like; back then; back home; the end of; "
        "end of; by the end; no idea; not sure; never mind; don't know; his back; her back; "
        "my back; their back; the back; back of; back garden; back door; back room; can't tell "
        "you; cannot tell you; can't believe; never thought; didn't think; never imagined; would "
        "never; thought she would; thought he would; thought i would; thought i'd; can be; could "
        "be; can help; could help",
    ),
}
NOW_VERBS = frozenset(
    "am is are 'm 're has have 've can ca does do feel feels says say gets goes know knows "
    "loves enjoys lives works will 'll wo".split()
)
PAST_VERBS = frozenset(
    "was were had 'd did could used went came got felt said became thought knew seemed "
    "left lost took made".split()
)
NOW_WORDS = frozenset(("now", "nowadays"))  # also weak change cues, so not in CUES["NOW"]
# "whether more hours would affect...", "hoping to return to his job": nothing has changed yet
HYPOTHETICAL = frozenset("whether if hoping hopes wants plans planning aims".split())
CLAUSE_PUNCT = frozenset(";:—–()")
CLAUSE_LINKS = frozenset("and so then because cos until".split())
SUBJECTS = frozenset("i she he we they it you my his her their our now then that there".split())
# A new subject or a subordinate clause ends what a change word is about.
SUBORDINATORS = frozenset("when because after before while until if which who where".split())
PRONOUNS = frozenset("i she he we they".split())
SCOPE_ENDS = PRONOUNS | SUBORDINATORS
# "but" starts a new clause only when a new subject follows ("but stopped when..." does not).
CLAUSE_OPENERS = SUBJECTS | frozenset("the a an this these those some most all".split())
FILLERS = frozenset("um erm er uh uhm ah".split())
BEFORE_I = frozenset("and but so that where when because if what who which how as than cos until like".split())
LONG_SENTENCE = 40  # tokens; unpunctuated transcripts are split at discourse markers past this
NEUTRAL_OBJECT = 0.7  # a domain word with no polarity of its own ("a job", "the course")
COST_OBJECT = -0.9  # an amount that is better smaller ("the gas bill"): polarity, but no state
WEAK_CHANGE = 0.75  # "now", "new", "since": a change only when nothing stronger is said
NEARBY = 2  # tokens of slack when deciding which domain a cue is about
ELSEWHERE = 0.4  # weight of a cue for the other domains in its clause
ARC_GAIN = 1.5  # how clearly the rest of the story must improve to resolve a told problem
STORY = "*"  # the whole clause, whatever it is about, for the arc of the story
