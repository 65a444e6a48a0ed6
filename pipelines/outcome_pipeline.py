"""The spaCy pipeline that finds outcome domains and their direction in a story.

The only module that imports spaCy, and only inside functions: the pipeline is built once per
framework version, on first use. A blank English model, a lookup lemmatizer on lower-cased
words, sentences (punctuation, and long unpunctuated transcript sentences split at discourse
markers), the framework's span rules, and a component that matches the direction cue words,
hands plain lists to stories.direction and stores its decisions as
doc._.storybank_outcomes: (domain, direction, start_char, end_char, confidence, rule, basis).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Iterable
from typing import Any

from stories.direction import CLAUSE_LINKS, SUBJECTS, Story, decide, load_cues, longest_first
from stories.frameworks import CONTEXT_LABEL, Framework

SPANS_KEY = "storybank_outcomes"
LONG_SENTENCE = 40  # tokens; unpunctuated transcripts are split at discourse markers past this
FILLERS = frozenset("um erm er uh uhm ah".split())
BEFORE_I = frozenset("and but so that where when because if what who which how as than cos until like".split())

_LOCK = threading.Lock()
_PIPELINES: dict[str, Any] = {}


def pipeline(framework: Framework) -> Any:
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
    nlp.add_pipe("storybank_sentences")
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
        Language.factory("storybank_sentences", func=_make_sentences)
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


def _make_sentences(nlp: Any, name: str) -> Any:
    """Sentences from a story: spaCy's sentencizer rule, then long unpunctuated transcript
    sentences split at discourse markers. Works on token arrays, not Token objects, for speed."""
    import numpy
    from spacy.attrs import IS_PUNCT, LOWER, SENT_START
    from spacy.pipeline import Sentencizer

    NOT_START = numpy.iinfo(numpy.uint64).max  # -1 ("not a sentence start") as spaCy stores it
    strings = nlp.vocab.strings
    enders = frozenset(strings.add(c) for c in Sentencizer.default_punct_chars)

    def sentences(doc: Any) -> Any:
        if not len(doc):
            return doc
        lower, punct = doc.to_array(LOWER).tolist(), doc.to_array(IS_PUNCT).tolist()
        starts, seen_end = [0], False
        for i, key in enumerate(lower):
            if key in enders:
                seen_end = True
            elif seen_end and not punct[i]:
                starts.append(i)
                seen_end = False
        words = [strings[key] for key in lower]
        starts = _transcript_breaks(words, starts)
        flags = numpy.full((len(doc), 1), NOT_START, dtype="uint64")
        flags[starts, 0] = 1
        doc.from_array([SENT_START], flags)
        return doc

    return sentences


def _transcript_breaks(words: list[str], starts: list[int]) -> list[int]:
    """Split very long unpunctuated sentences (typical of transcripts) at discourse markers."""
    result = []
    for start, end in zip(starts, starts[1:] + [len(words)], strict=True):
        result.append(start)
        if end - start <= LONG_SENTENCE:
            continue
        last = start
        for i in range(start + 1, end - 1):
            low, following, previous = words[i], words[i + 1], words[i - 1]
            marker = (
                low in FILLERS
                or low == "but"
                or (low in CLAUSE_LINKS and following in SUBJECTS)
                or (low == "i" and previous not in BEFORE_I)  # "...a week now I still have..."
            )
            if marker and i - last >= 8:
                result.append(i)
                last = i
    return result


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
    from spacy.attrs import IDX, LENGTH
    from spacy.matcher import PhraseMatcher

    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    groups: dict[tuple[str, float], list[str]] = {}
    for cue in load_cues():
        groups.setdefault((cue.kind, cue.weight), []).append(cue.text)
    cues: dict[int, tuple[str, float]] = {}
    for (kind, weight), texts in groups.items():
        key = f"{kind}\t{weight}"
        cues[nlp.vocab.strings.add(key)] = (kind, weight)
        matcher.add(key, list(nlp.tokenizer.pipe(texts)))

    def outcome_direction(doc: Any) -> Any:
        if not len(doc):
            return doc
        story = _story(doc, longest_first((s, e, *cues[m]) for m, s, e in matcher(doc)))
        idx, length = doc.to_array(IDX).tolist(), doc.to_array(LENGTH).tolist()

        def characters(sentence: int) -> tuple[int, int]:
            start, end = story.sents[sentence]
            return idx[start], idx[end - 1] + length[end - 1]

        doc._.storybank_outcomes = tuple(
            (d.domain, d.direction, *characters(d.sentence), d.confidence, d.rule, d.basis) for d in decide(story)
        )
        return doc

    return outcome_direction


def _story(doc: Any, cues: list[tuple[int, int, str, float]]) -> Story:
    """The plain facts stories.direction reads, pulled out of the Doc in one pass each."""
    from spacy.attrs import IS_ALPHA, IS_TITLE, LEMMA, LOWER, SENT_START

    strings = doc.vocab.strings
    starts = [i for i, flag in enumerate(doc.to_array(SENT_START).tolist()) if flag == 1]
    return Story(
        lower=[strings[h] for h in doc.to_array(LOWER).tolist()],
        lemma=[strings[h] for h in doc.to_array(LEMMA).tolist()],
        title=[bool(x) for x in doc.to_array(IS_TITLE).tolist()],
        alpha=[bool(x) for x in doc.to_array(IS_ALPHA).tolist()],
        sents=list(zip(starts, starts[1:] + [len(doc)], strict=True)),
        domains=_domain_spans(doc),
        cues=cues,
    )


def _domain_spans(doc: Any) -> list[tuple[int, int, str, str]]:
    """Domain matches, minus those inside a service name or inside a longer match elsewhere."""
    spans = [(s.start, s.end, s.label_, s.id_) for s in doc.spans.get(SPANS_KEY, [])]
    masks = [(s, e) for s, e, label, _ in spans if label == CONTEXT_LABEL]
    kept = []
    for start, end, label, rule in spans:
        if label == CONTEXT_LABEL or any(s < end and start < e and e - s >= end - start for s, e in masks):
            continue
        if any(other != label and s <= start and end <= e and e - s > end - start for s, e, other, _ in spans):
            continue
        kept.append((start, end, label, rule))
    return sorted(kept)
