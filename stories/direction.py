"""Which way a story says each domain went: improved, worsened, mixed or mentioned (pure Python).

The labelling guide (OUTCOMES.md) decides one direction per domain over the whole story. These
rules read it the way a careful coder does, from plain token lists (no spaCy here):

1. The story is cut into sentences and clauses. In each clause, cue words from
   frameworks/direction-cues.jsonl are read against the domain words the framework matched:
   a change word applies to the nearest state or domain word ("stopped" + "panic attacks" is
   better, "stopped" + "going out" is worse), negators flip what follows them, and each cue
   counts for the domain nearest it only.
2. Tense and aspect: hopes, plans and fears ("hopes to train", "starts a course in
   September", "worried she will lose the flat") are not changes yet; "used to", "had been"
   and "at first" tell the before; "now", "since" and "no longer" tell the after.
3. Whose life: a relative's illness ("his mum's chemotherapy") is context for the teller's
   story, so the story's arc does not carry it along; only words about it count.
4. Over the whole story, in order: a domain that got better is improved (a problem resolved
   later, "sleeping on my sister's sofa... we moved in", is improved too), unless it then got
   worse again or is told as fragile ("I still have bad days"), which is mixed; one that only
   got worse is worsened; a told problem followed by a clearly better story is improved, and a
   lived problem in a story of decline is worsened; a domain told with no cue of its own in
   the second half of a story that ends well is part of its outcome, improved; otherwise the
   domain is mentioned.

Cue kinds: GOOD, BAD (states); CONDITION (a named illness or disability: bad, but context
when nothing else is said); COST (amounts better smaller: bills, rent, medication); REGULAR
(habits: "every week"); UP, DOWN (changes in themselves); PLUS, MINUS (more or less of what
follows: "started", "stopped"); SOFT_PLUS ("now", "since", "new": a change only if nothing
stronger is said); ABLE; NEG; ANYMORE; FRAGILE, HEDGE, STILL; NOW, PAST (tense); FUTURE, DATE,
HYPOTHETICAL (not yet real); CONTRAST (clause breaks); RELATIVE; IGNORE (phrases that contain
cue words but are not cues: "more than", "set up").
"""

from __future__ import annotations

import bisect
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from stories.frameworks import frameworks_dir
from stories.wordlists import word_set

CUES_FILE = "direction-cues.jsonl"
TRUST_FILE = "direction-trust.jsonl"  # readings and how often they were right on stories never tuned on
TRUSTED_PRECISION = 0.85  # offer a direction only where such readings were right at least this often
KINDS = frozenset(
    "GOOD BAD CONDITION COST REGULAR UP DOWN PLUS MINUS SOFT_PLUS ABLE NEG ANYMORE FRAGILE HEDGE "
    "STILL NOW PAST FUTURE DATE HYPOTHETICAL CONTRAST RELATIVE IGNORE".split()
)

# The grammar words the rules read clauses by are data (stories/data/direction/, each file says what
# its list is for), read once, here; cue words are in frameworks/direction-cues.jsonl.
NOW_VERBS = word_set("direction/now_verbs")
PAST_VERBS = word_set("direction/past_verbs")
REPORTING = word_set("direction/reporting_verbs")
NOW_WORDS = word_set("direction/now_words")
PLUPERFECT = word_set("direction/pluperfect")
CLAUSE_ADVERBS = word_set("direction/clause_adverbs")
PLANNED_STARTS = word_set("direction/planned_starts")
PRONOUNS = word_set("direction/pronouns")
SUBJECTS = word_set("direction/subjects")
SUBORDINATORS = word_set("direction/subordinators")
SCOPE_ENDS = PRONOUNS | SUBORDINATORS  # a new subject or clause ends what a change word is about
DETERMINERS = word_set("direction/determiners")
CLAUSE_PUNCT = frozenset(";:—–()")  # punctuation that always ends a clause
CLAUSE_LINKS = word_set("direction/clause_links")
CLAUSE_OPENERS = SUBJECTS | word_set("direction/clause_openers")
SEGMENT_LINKS = word_set("direction/segment_links")

NEUTRAL_OBJECT = 0.7  # a domain word with no polarity of its own ("a job", "the course")
COST_OBJECT = -0.9  # an amount that is better smaller ("the gas bill"): polarity, but no state
NEARBY = 1  # tokens of slack when deciding which domain a cue is about
RELATIVES_DOMAIN = "health"  # where a relative's state is usually the teller's context
ARC_GAIN = 1.0  # how clearly the rest of the story must improve to resolve a told problem
SUCCESS = 3.0  # how clearly the second half must go well for a domain told there to be improved
DECLINE = 2.0  # how clearly a story's second half must go badly for its lived problems to count as worsened
FRAGILE_REACH = 2  # sentences back that "I still have bad days" can reach for its domain

Span = tuple[int, int, str]  # token start, token end, domain
Target = tuple[int, int, float, "str | None"]  # start, end, polarity, the domain it is a word of
Value = tuple[int, float, "str | None"]  # position, value, the domain it belongs to (if known)
Key = tuple[int, int]  # sentence, clause


@dataclass(frozen=True)
class Cue:
    """One line of the cue file: a word or phrase, what kind of cue it is, and its weight."""

    text: str
    kind: str
    weight: float


@dataclass(frozen=True)
class Story:
    """The token facts the rules read, as plain lists (built from a spaCy Doc)."""

    lower: list[str]
    lemma: list[str]
    title: list[bool]
    alpha: list[bool]
    sents: list[tuple[int, int]]
    domains: list[tuple[int, int, str, str]]  # start, end, domain, rule; sorted
    cues: list[tuple[int, int, str, float]]  # start, end, kind, weight; sorted, no overlaps


@dataclass(frozen=True)
class Decision:
    """One domain's direction, the sentence that best shows it, and how sure the rules are."""

    domain: str
    direction: str
    sentence: int
    confidence: float
    rule: str
    basis: str  # which reading decided the direction ("better", "worse", "relapse", ...): what calibration counts


@dataclass(frozen=True)
class Signal:
    """What one clause says about a domain: change (> 0 better), state (> 0 good), and more."""

    change: float
    state: float
    tense: str  # "now", "past" or "future"
    fragile: float = 0.0  # 1: told as insecure ("bad days"); 0.5: a hedge ("still", "sometimes")
    steady: bool = False  # "still enjoys his allotment": a good state that has not changed
    felt: float = 0.0  # the bad state, leaving out named conditions: lived, not context
    other: bool = False  # about a relative ("his mum's treatment continues")


def cues_path() -> Path:
    return frameworks_dir() / CUES_FILE


def trust_path() -> Path:
    return frameworks_dir() / TRUST_FILE


@functools.cache
def trust_table() -> dict[tuple[str, str], float]:
    """(basis, domain) -> the share of such readings right on real stories the rules were never tuned on
    ("right" of "suggested", bench/real_stories.py --confirm), for those right at least TRUSTED_PRECISION
    of the time; domain "*" stands for every domain. A reading below it is kept in the file, not offered."""
    table: dict[tuple[str, str], float] = {}
    if not trust_path().is_file():  # a frameworks folder of one's own, never measured: nothing is offered
        return table
    for number, line in enumerate(trust_path().read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        entry = json.loads(line)
        right, suggested = entry.get("right"), entry.get("suggested")
        if (
            not isinstance(entry.get("basis"), str)
            or not isinstance(right, int)
            or not isinstance(suggested, int)
            or suggested < 1
        ):
            raise ValueError(f"{TRUST_FILE}: line {number}: needs a 'basis' and the counts 'right' and 'suggested'")
        if right / suggested >= TRUSTED_PRECISION:
            table[(entry["basis"], entry.get("domain", "*"))] = round(right / suggested, 3)
    return table


def trusted(domain: str, basis: str) -> float | None:
    """How often a reading of this kind was right on real stories, if often enough to offer it."""
    table = trust_table()
    return table.get((basis, domain), table.get((basis, "*")))


@functools.cache
def load_cues(path: str | None = None) -> tuple[Cue, ...]:
    """The direction cue lexicon: one JSON object per line with cue, kind and weight."""
    source = Path(path) if path else cues_path()
    cues = []
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            entry = json.loads(line)
            if not isinstance(entry.get("cue"), str) or entry.get("kind") not in KINDS:
                raise ValueError(f"{source.name}: line {number}: needs a 'cue' and a 'kind' the rules read")
            cues.append(Cue(entry["cue"], entry["kind"], float(entry.get("weight", 1.0))))
    return tuple(cues)


def longest_first(matches: Iterable[tuple[int, int, str, float]]) -> list[tuple[int, int, str, float]]:
    """Overlapping cue matches reduced to the longest, in text order."""
    kept: list[tuple[int, int, str, float]] = []
    taken: set[int] = set()
    for match in sorted(matches, key=lambda m: (m[0] - m[1], m[0])):
        if not taken.intersection(range(match[0], match[1])):
            kept.append(match)
            taken.update(range(match[0], match[1]))
    return sorted(kept)


# ---------------------------------------------------------------- the whole story


def decide(story: Story) -> list[Decision]:
    """One decision per domain the story mentions."""
    if not story.domains:
        return []
    by_domain, moods = _read_story(story)
    rules: dict[str, list[tuple[int, str]]] = {}
    for start, _, label, rule in story.domains:
        rules.setdefault(label, []).append((start, rule))
    first_trouble = next((si for si, mood in enumerate(moods) if mood < 0), len(moods))
    decisions = []
    for domain, keyed in by_domain.items():
        direction, best, basis = _direction(keyed, moods, first_trouble)
        sent_start, sent_end = story.sents[best[0]]
        hits = rules[domain]
        rule = next((r for start, r in hits if sent_start <= start < sent_end), hits[0][1])
        confidence = _confidence(len(hits), direction, [sig for _, sig in keyed])
        decisions.append(Decision(domain, direction, best[0], confidence, rule, basis))
    return decisions


def _read_story(story: Story) -> tuple[dict[str, list[tuple[Key, Signal]]], list[float]]:
    """Each domain's signals clause by clause, and the mood of each sentence (the story's arc)."""
    cue_starts = {s: kind for s, _, kind, _ in story.cues}
    span_starts = [s for s, _, _, _ in story.domains]
    moods = [0.0] * len(story.sents)
    by_domain: dict[str, list[tuple[Key, Signal]]] = {}
    recent: tuple[int, list[str]] = (-9, [])  # the last clause that named a domain
    for si, (sent_start, sent_end) in enumerate(story.sents):
        starts = _clause_starts(story, sent_start, sent_end, cue_starts)
        for ci, cs in enumerate(starts):
            ce = starts[ci + 1] if ci + 1 < len(starts) else sent_end
            mine = story.domains[bisect.bisect_left(span_starts, cs) : bisect.bisect_left(span_starts, ce)]
            whole, signals = _Clause(story, cs, ce, mine).signals()
            moods[si] += whole.change + whole.state / 2
            if ci == 0 and _first_word(story, sent_start, sent_end) in NOW_WORDS:
                moods[si] += 0.5  # "At first I was afraid to speak. Now I put my hand up."
            for domain, signal in signals.items():
                by_domain.setdefault(domain, []).append(((si, ci), signal))
            if signals:
                recent = (si, list(signals))
            elif whole.fragile and si - recent[0] <= FRAGILE_REACH:
                # "The group helped my depression. I still have bad days": the same domain,
                # the one the story told of trouble in, or else of recovery
                for domain in _fragile_domains(recent[1], by_domain):
                    by_domain[domain].append(((si, ci), Signal(0.0, 0.0, whole.tense, whole.fragile)))
    return by_domain, moods


def _fragile_domains(recent: list[str], by_domain: dict[str, list[tuple[Key, Signal]]]) -> list[str]:
    troubled = [d for d in recent if any(sig.state < 0 or sig.change < 0 for _, sig in by_domain[d])]
    return troubled or [d for d in recent if any(sig.change > 0 for _, sig in by_domain[d])]


def _direction(signals: list[tuple[Key, Signal]], moods: list[float], first_trouble: int) -> tuple[str, Key, str]:
    """One direction over the whole story, and the clause that best shows it.

    Order matters more than tense: case studies tell outcomes in the past tense, so a good
    state counts as a change when it is present or told after a problem. The last word on a
    domain weighs most: a problem and then a change for the better is improved; a change for
    the better and then one for the worse, or a problem told as still there ("still", "some
    days", "bad days"), is mixed, unless the good news far outweighs it.
    """
    better, worse, problems_now, fragile, hedged = [], [], [], [], []
    troubled = False  # has a problem or a change for the worse been told yet?
    for key, sig in signals:
        after_trouble = troubled or key[0] > first_trouble  # "...by April she was walking to the shop"
        good_now = sig.state > 0 and not sig.steady and (sig.tense == "now" or after_trouble)
        if sig.change >= 0.5 or (sig.change > -0.5 and good_now):
            better.append(key)
        elif sig.change <= -0.5:
            worse.append(key)
        if (sig.state < 0 or sig.change <= -0.5) and not sig.other:
            troubled = True
            if sig.tense == "now" and sig.change < 0.5:
                problems_now.append(key)
        if sig.fragile >= 1.0 and (sig.tense == "now" or better):
            fragile.append(key)
        elif sig.fragile and sig.change + sig.state <= 0:  # "sometimes" in good news is no setback
            hedged.append(key)
    strength = dict(signals)
    if better:
        first, last = min(better), max(better)
        # Better, then worse again, is mixed; but a loss told in the past after the good news is
        # back story told late ("having been diagnosed ten years ago, ..."), not a relapse.
        relapses = [k for k in worse if k > last]
        if relapses and strength[max(worse)].tense != "past" and _in_balance(better, relapses):
            return "mixed", max(worse), "relapse"
        # A problem told in the present after the good news is mixed only with "still", a hedge or a
        # fragile phrase: without one it is most often someone else's or the story's general point
        # ("the fear people with COPD live with").
        setbacks = fragile + [k for k in hedged if k > first]
        if setbacks and _in_balance(better, setbacks):
            return "mixed", max(setbacks), "setback"
        return "improved", max(better, key=lambda k: (strength[k].change + strength[k].state / 2, k)), "better"
    if worse:
        if any(k > max(worse) for k in fragile):  # a setback, then a fragile recovery
            return "mixed", max(fragile), "fragile_recovery"
        resolved = _resolved_by_arc(max(k[0] for k in worse), moods)
        if resolved is not None and not problems_now:  # "after her divorce... a year on she..."
            return "improved", resolved, "worse_resolved"
        return "worsened", max(worse, key=lambda k: (-strength[k].change, k)), "worse"
    if fragile:
        return "mixed", max(fragile), "fragile"
    # "still exhausted" with nothing better told is a continuing problem, not a mixed picture.
    problems = [k for k, sig in signals if sig.state < 0 and not sig.other]
    if troubled and problems and not problems_now:
        resolved = _resolved_by_arc(max(problems)[0], moods)
        if resolved is not None:
            return "improved", resolved, "problem_resolved"
    lived = [k for k, sig in signals if (sig.felt < 0 or sig.change <= -0.5) and not sig.other]
    if lived and _declining(moods):  # "I feel useless", told in a story of things going wrong
        return "worsened", max(lived), "decline"
    # "Almost three years on, Sivar is working part-time": a domain told without a cue of its
    # own, in the second half of a story that ends well or in its present ("I volunteer three
    # times a week"), is part of the good outcome.
    outcome = [k for k, s in signals if k[0] >= len(moods) / 2 or _present_and_untroubled(s)]
    if outcome and _succeeding(moods):
        return "improved", max(outcome), "good_ending"
    return "mentioned", signals[0][0], "no_change"


def _in_balance(better: list[Key], setbacks: list[Key]) -> bool:
    """Mixed takes setbacks that weigh against the good news: one hedge among many clauses of
    progress is still a story of improvement, and the hedge is as likely someone else's."""
    return len(better) <= 2 * len(setbacks)


def _present_and_untroubled(sig: Signal) -> bool:
    return sig.tense == "now" and sig.state >= 0 and sig.change >= 0


def _succeeding(moods: list[float]) -> bool:
    """Does the second half of the story clearly go well (where case studies tell outcomes)?"""
    gain, loss = _good_and_bad(moods[len(moods) // 2 :])
    return gain >= SUCCESS * max(loss, 0.5)


def _resolved_by_arc(last: int, moods: list[float]) -> Key | None:
    """The best sentence after `last` if the rest of the story is clearly better, else None."""
    after = moods[last + 1 :]
    gain, loss = _good_and_bad(after)
    if gain < ARC_GAIN or gain < 2 * loss:
        return None
    best = max(range(len(after)), key=lambda i: (after[i], -i))
    return last + 1 + best, 0


def _declining(moods: list[float]) -> bool:
    """Is the story one of things getting worse? Its second half must be mostly bad news: a
    success story opens with its troubles, however many, and tells the good news after."""
    gain, loss = _good_and_bad(moods[len(moods) // 2 :])
    return loss >= DECLINE and loss > gain


def _good_and_bad(moods: list[float]) -> tuple[float, float]:
    """How much good news and how much bad news (as a positive number) some sentences tell."""
    return sum(m for m in moods if m > 0), -sum(m for m in moods if m < 0)


def _confidence(matches: int, direction: str, signals: list[Signal]) -> float:
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


def _first_word(story: Story, start: int, end: int) -> str:
    return next((story.lower[i] for i in range(start, end) if story.alpha[i]), "")


def _clause_starts(story: Story, start: int, end: int, cue_starts: dict[int, str]) -> list[int]:
    lower, starts = story.lower, [start]
    for i in range(start + 1, end - 1):
        low, following = lower[i], lower[i + 1]
        opener = following in CLAUSE_OPENERS or story.title[i + 1]
        if (
            (cue_starts.get(i) == "CONTRAST" and opener)
            or (low == "," and (following in PRONOUNS or story.title[i + 1]))
            or low in CLAUSE_PUNCT
            or (low in CLAUSE_LINKS and following in SUBJECTS)
        ):
            starts.append(i)
    return starts


# ---------------------------------------------------------------- one clause


class _Clause:
    """What one clause says: its cues read against its domain words."""

    def __init__(self, story: Story, cs: int, ce: int, domains: list[tuple[int, int, str, str]]) -> None:
        cues = story.cues
        items = [c for c in cues[bisect.bisect_left(cues, (cs, -1, "", 0.0)) :] if c[0] < ce]
        self.story, self.cs, self.ce = story, cs, ce
        self.horizon = _horizon(story, cs, ce, items)
        self.items = [c for c in items if c[0] < self.horizon]  # "hopes to go on to nursing"
        self.kinds = {kind for _, _, kind, _ in self.items}
        self.mine: list[Span] = [(s, e, label) for s, e, label, _ in domains]
        self.at = {kind: [s for s, _, k, _ in self.items if k == kind] for kind in self.kinds}
        lower = story.lower
        last = len(lower) - 1
        self.subjects = [
            i
            for i in range(cs + 1, self.horizon)
            if lower[i] in SCOPE_ENDS and "-" not in (lower[i - 1], lower[min(i + 1, last)])  # "after-school"
        ]
        self.subordinators = frozenset(i for i in self.subjects if lower[i] in SUBORDINATORS)

    def signals(self) -> tuple[Signal, dict[str, Signal]]:
        """The clause as a whole (for the story's arc), and what it says about each domain."""
        changes, states, news = self._read()
        tense = "future" if self.horizon == self.cs else _tense(self.story, self.cs, self.ce, self.kinds)
        hedges = [(s, 1.0) for s in self.at.get("FRAGILE", [])] + [(s, 0.5) for s in self.at.get("HEDGE", [])]
        still = self.at.get("STILL", [])
        mine, whole_state = self.mine, sum(v for _, v, _ in states)
        whole_hedge = max([v for _, v in hedges] + [0.5 if still and whole_state < 0 else 0.0])
        whole = Signal(sum(v for _, v, _ in changes) + 0.5 * news, whole_state, tense, whole_hedge)
        lived = [v for v in states if v[0] not in self.at.get("CONDITION", ())]
        torn = bool(still) or "CONTRAST" in self.kinds
        result = {}
        for domain in {label for _, _, label in mine}:
            other = self._about_relative(domain)
            state = _attributed(states, domain, mine, other)
            fragile = max((v for pos, v in hedges if _is_nearest(pos, domain, mine)), default=0.0)
            if state < 0 and any(_is_nearest(pos, domain, mine) for pos in still):
                fragile = max(fragile, 0.5)
            if torn and _both_ways(states + changes, domain, mine):
                fragile = 1.0  # "still anxious but learning to cope": better, and not yet well
            change = _attributed(changes, domain, mine, other)
            felt = min(0.0, _attributed(lived, domain, mine, other))
            result[domain] = Signal(change, state, tense, fragile, bool(still), felt, other)
        return whole, result

    def _read(self) -> tuple[list[Value], list[Value], int]:
        """The changes and states told, each at the word it is about.

        Also counts "news": a sentence-adverb "now" with nothing to apply to ("Now I go three
        mornings a week"), good news for the story even when no domain word is near.
        """
        self.negs = list(self.at.get("NEG", []))
        targets = self._targets()
        changes: list[Value] = []
        states: list[Value] = []
        used: set[Target] = set()
        news = self._change_words(targets, used, changes, states)
        self._clause_adverbs(targets, used, changes)
        self._changes_in_themselves(targets, used, changes)
        for target in targets:  # what no change word took is a state
            if target in used or target[2] == COST_OBJECT:
                continue
            if self._negated(target[0]):
                states.append((target[0], -0.5 if target[2] == NEUTRAL_OBJECT else -target[2], None))
            elif target[2] != NEUTRAL_OBJECT:
                states.append((target[0], target[2], None))
        return changes, states, news

    def _targets(self) -> list[Target]:
        """What a change can apply to: state words with their polarity, then bare domain words."""
        polarity = {"GOOD": 1.0, "BAD": -1.0, "CONDITION": -1.0, "COST": COST_OBJECT}
        if self.kinds.isdisjoint(("BAD", "CONDITION", "NEG")):
            polarity["REGULAR"] = 1.0
        mine = [m for m in self.mine if m[0] < self.horizon]

        def owner(s: int, e: int) -> str | None:  # "lonely" is a state word and a relationships word
            return next((label for ms, me, label in mine if ms < e and s < me), None)

        polar = [(s, e, polarity[kind], owner(s, e)) for s, e, kind, _ in self.items if kind in polarity]
        return polar + [
            (s, e, NEUTRAL_OBJECT, label)
            for s, e, label in mine
            if self.story.alpha[s] and not any(ps < e and s < pe for ps, pe, _, _ in polar)  # not "£"
        ]

    def _negated(self, pos: int, after: int | None = None) -> bool:
        start = self.cs if after is None else after
        lower = self.story.lower
        # "not have any close family or friends": "any" carries the negation further
        return any(start <= n < pos and (pos - n <= 3 or (pos - n <= 7 and "any" in lower[n + 1 : n + 3])) for n in self.negs)

    def _change_words(self, targets: list[Target], used: set[Target], changes: list[Value], states: list[Value]) -> int:
        """Change words whose sign depends on what they apply to ("started", "stopped", "now")."""
        lower, ce = self.story.lower, self.horizon
        # Strong change words first: "now", "since" only add a change to what nothing else changed.
        ops = [(s, e, k, w) for s, e, k, w in self.items if k in ("PLUS", "MINUS", "ABLE")]
        ops += [(s, e, k, w) for s, e, k, w in self.items if k == "SOFT_PLUS"]
        if self.negs and "ANYMORE" in self.kinds:  # "not lonely any more" ends a state, like "no longer"
            ops.append((self.negs[0], self.negs[0] + 1, "MINUS", 1.0))
            self.negs = self.negs[1:]
        conditions = set(self.at.get("CONDITION", ()))
        news = 0
        for s, e, kind, weight in ops:
            backwards = lower[s] == "since"  # "unable to work since": the state before it
            # "started chemotherapy", "joined our Parkinson's class": care beginning, not illness
            objects = [t for t in targets if t[0] not in conditions] if kind != "MINUS" else targets
            if kind == "SOFT_PLUS" and not backwards:  # "on the right medication now": not more of it
                objects = [t for t in objects if t[2] != COST_OBJECT]
            if backwards and _first_word(self.story, self.cs, s + 1) == "since":
                # "Since his parents separated he has been angry": the state since, not the event
                objects = [t for t in objects if t[2] != NEUTRAL_OBJECT]
            # "felt worthless and had stopped answering the phone": the object follows the verb
            ahead_only = not backwards and e < ce and (lower[e].endswith("ing") or lower[e] in DETERMINERS)
            target = _nearest(objects, s, e, self.subjects, backwards, self.subordinators, ahead_only)
            if target is None and ahead_only:  # "the bailiffs have stopped calling": its subject
                target = next((t for t in objects if 0 < s - t[1] <= 2 and self._joined(t[1], s)), None)
            if target is None or (kind == "SOFT_PLUS" and target in used):
                news += kind == "SOFT_PLUS" and lower[s] in NOW_WORDS
                continue
            # "hasn't left the flat since": the negator belongs to the target, not to "since"
            negator_owned = target[0] < s and self._negated(target[0])
            value = -target[2] if self._negated(target[0], after=e) or negator_owned else target[2]
            negated_op = (self._negated(s) or (e < ce and lower[e] in ("n't", "not"))) and not negator_owned
            if kind == "ABLE":  # "can pay the bills" is good even though bills are a cost
                if target[0] > s and target[0] - e <= 4:
                    good = target[2] != -1.0 or value > 0
                    states.append((target[0], -1.0 if negated_op or not good else 1.0, None))
                    used.add(target)
                continue
            value *= (-1.0 if kind == "MINUS" else 1.0) * weight
            value = -value if negated_op else value
            if self._pluperfect(s):  # "his bowls club, which he had given up": before the story's now
                states.append((target[0], value, None))
                continue
            used.add(target)
            changes.append((target[0], value, None))
        return news

    def _joined(self, start: int, end: int) -> bool:
        """No clause link between two words ("felt worthless and had stopped": not joined)."""
        return not any(self.story.lower[i] in SEGMENT_LINKS for i in range(start, end))

    def _pluperfect(self, pos: int) -> bool:
        """Is the word at `pos` in the past perfect ("had stopped", "had already lost"), not an
        obligation ("has had to cut her hours")?"""
        lower, cs = self.story.lower, self.cs
        for had in (pos - 1, pos - 2):
            if had >= cs and lower[had] in PLUPERFECT:
                return lower[had + 1] != "to" and (had == cs or lower[had - 1] not in ("has", "have", "'ve", "'s"))
        return False

    def _clause_adverbs(self, targets: list[Target], used: set[Target], changes: list[Value]) -> None:
        """ "She now gets a weekly call and goes to the lunch club": "now" covers both."""
        for s, e, _, weight in self.items:
            if self.story.lower[s] not in CLAUSE_ADVERBS:
                continue
            for target in targets:
                if (
                    target[2] == NEUTRAL_OBJECT
                    and target not in used
                    and target[0] >= e
                    and not any(s < i < target[0] for i in self.subordinators)
                    and not self._negated(target[0])
                ):
                    used.add(target)
                    changes.append((target[0], NEUTRAL_OBJECT * weight, target[3]))

    def _changes_in_themselves(self, targets: list[Target], used: set[Target], changes: list[Value]) -> None:
        """ "improved", "evicted": a change whatever it is about; what it changed is not a state."""
        states = [t for t in targets if t[2] != NEUTRAL_OBJECT]
        for s, e, kind, weight in self.items:
            if kind not in ("UP", "DOWN"):
                continue
            value = -weight if kind == "DOWN" else weight
            # "my daughter's asthma has got worse": the change belongs to the word it follows
            told_of = next(
                (label for ms, me, label in reversed(self.mine) if me <= s and not any(me <= i < s for i in self.subordinators)),
                None,
            )
            owner = told_of if told_of == RELATIVES_DOMAIN else None
            changes.append((s, -value / 2 if self._negated(s) else value, owner))
            target = _nearest(states, s, e, self.subjects)
            if target is not None:
                used.add(target)  # "cleared the arrears": the arrears are what changed

    def _about_relative(self, domain: str) -> bool:
        """Is the health word about a relative ("his wife June, who has dementia"), not the teller?

        Only health: a partner's lost hours or a child's school are the household's outcomes,
        but a relative's illness is told as the teller's context far more often than not.
        """
        if domain != RELATIVES_DOMAIN:
            return False
        first = min(s for s, _, label in self.mine if label == domain)
        lower = self.story.lower
        return any(
            0 < first - r <= 8 and not any(lower[i] in PRONOUNS for i in range(r + 1, first)) for r in self.at.get("RELATIVE", ())
        )


def _horizon(story: Story, cs: int, ce: int, items: list[tuple[int, int, str, float]]) -> int:
    """Where what the clause tells stops being real: plans, hopes and fears are not changes.

    A future time ("next month") or a plan in the present tense ("starts a course in
    September") covers its own part of the clause; a hope or condition ("hopes to", "will",
    "if") covers what follows it.
    """
    lower = story.lower
    kinds = {kind for _, _, kind, _ in items}
    hopes = [s for s, _, kind, _ in items if kind == "HYPOTHETICAL"]
    # "by the time the next term started": a time that has already come is not a plan
    plans = [s for s, e, kind, _ in items if kind == "FUTURE" and not _past_verb(story, e, min(e + 2, ce))]
    if "DATE" in kinds and "PAST" not in kinds:
        plans += [i for i in range(cs, ce) if lower[i] in PLANNED_STARTS and lower[i - 1] not in ("since", "after", "before")]
    horizon = min(hopes, default=ce)
    if plans and min(plans) < horizon:  # "is now on a course | and starts work next month"
        horizon = max([cs] + [i for i in range(cs, min(plans)) if lower[i] in SEGMENT_LINKS])
    return horizon


def _past_verb(story: Story, start: int, end: int) -> bool:
    """Is there a verb in the past tense between start and end ("was", "started")?"""
    return any(
        story.lower[i] in PAST_VERBS or (story.lower[i].endswith("ed") and story.lemma[i] != story.lower[i])
        for i in range(start, end)
    )


def _attributed(values: list[Value], domain: str, mine: list[Span], direct: bool = False) -> float:
    """Sum values for a domain: those on its own words, and other cues of the clause when this
    domain is nearest them (unless only `direct` ones count).

    A cue counts for no other domain of its clause: "it's really good" is about the nearest thing
    told, and spreading it to every domain named nearby would mark domains that did not change."""
    total = 0.0
    for pos, value, owner in values:
        if owner is not None:
            total += value if owner == domain else 0.0
        elif any(s <= pos < e and label == domain for s, e, label in mine):
            total += value
        elif not direct and _is_nearest(pos, domain, mine):
            total += value
    return total


def _both_ways(values: list[Value], domain: str, mine: list[Span]) -> bool:
    """Does the clause say something good and something bad about this domain?"""
    near = [v for pos, v, owner in values if owner in (None, domain) and _is_nearest(pos, domain, mine)]
    return any(v > 0 for v in near) and any(v < 0 for v in near)


def _is_nearest(pos: int, domain: str, mine: list[Span]) -> bool:
    distance: dict[str, int] = {}
    for s, e, label in mine:
        gap = 0 if s <= pos < e else (s - pos if pos < s else pos - e + 1)
        distance[label] = min(gap, distance.get(label, gap))
    return distance[domain] <= min(distance.values()) + NEARBY


def _nearest(
    targets: list[Target],
    start: int,
    end: int,
    subjects: list[int],
    backwards: bool = False,
    subordinators: frozenset[int] = frozenset(),
    ahead_only: bool = False,
) -> Target | None:
    """What a change word applies to: the closest state or domain word, preferring after it."""
    best, best_distance = None, 99.0
    ahead, behind = (10.0, 0.0) if backwards else (0.0, 2.0)
    for target in targets:
        s, e = target[0], target[1]
        if s < end and start < e:
            distance = 0.0
        elif s < start and ahead_only:
            continue
        elif s >= end:
            # "started school | she felt ashamed"; but "Now I coordinate" keeps its subject
            crosses = any(end < p <= s or (p == end and p in subordinators) for p in subjects)
            distance = s - end + ahead if s - end <= 8 and not crosses else 99.0
        else:
            distance = start - e + behind if start - e <= 4 else 99.0
        if target[2] == NEUTRAL_OBJECT:
            distance += 1.0  # a state word is a likelier object than a bare domain word
        if distance < best_distance:
            best, best_distance = target, distance
    return best


def _tense(story: Story, cs: int, ce: int, kinds: set[str]) -> str:
    clause = story.lower[cs:ce]
    if not kinds.isdisjoint(("NOW", "ANYMORE")) or not NOW_WORDS.isdisjoint(clause):
        return "now"
    if "PAST" in kinds:
        return "past"
    for i in range(cs, ce - 1):  # "we look out for each other", "she plays twice a week"
        subject, verb, lemma = story.lower[i], story.lower[i + 1], story.lemma[i + 1]
        if subject in PRONOUNS and verb not in PAST_VERBS and story.alpha[i + 1]:
            if lemma == verb and subject in ("i", "we", "they"):
                return "now"
            if verb.endswith("s") and lemma != verb and subject in ("she", "he"):
                return "now"
            break
    for i, low in enumerate(clause, start=cs):
        if low in REPORTING:
            continue  # "she said she finally feels...": the tense of what was said
        if low in NOW_VERBS:
            return "now"
        if _past_verb(story, i, i + 1):
            return "past"
    return "past"  # stories are told in the past unless they say otherwise
