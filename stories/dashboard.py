"""The evidence dashboard's questions, asked of the commissioners' published file and nothing else.

Reading the published file (never the working store) means the dashboard shows exactly what
commissioners may see: only stories whose consent includes them, as published. Counts are
stories, never money.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stories.assurance import LEVELS
from stories.frameworks import DEFAULT_FRAMEWORK, Framework, FrameworkError, load_framework
from stories.outcomes import DIRECTIONS, SHIPPED, domain_label
from stories.sqlite import read_published, sqlite3
from stories.validation import whole_number

UNVERIFIED = LEVELS[()]
QUOTES = 3
# "In their own words" shows what a storyteller said: enough words to say something ("Money." does
# not), in the first person singular, the one voice staff never write about someone else in
# ("He now has the heating on", "Written up by Helen Marsh... read back to Arthur, who asked us"),
# and never a note about how the story was written down, whoever's voice it is in.
MIN_QUOTE_WORDS = 5
FIRST_PERSON = re.compile(r"\bI\b|(?i:\b(?:me|my|mine|myself)\b)")
STAFF_NOTE = re.compile(
    r"\b(?:written up|wrote (?:this|it) up|read (?:it |this )?back to|as told to|transcribed)\b", re.IGNORECASE
)
MAX_MONTHS = 18  # a longer span is drawn by quarter, so the bars stay wide enough to read
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Columns a commissioner filters on, as named in story_outcomes (constants: never user input).
FACETS = (
    ("contract", "contract_ref"),
    ("commissioner", "commissioner"),
    ("provider", "provider"),
    ("organisation", "organisation"),
)

Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Filters:
    """What the commissioner asked to see; it round-trips through the query string, so views can be shared."""

    contract: str = ""
    commissioner: str = ""
    provider: str = ""
    year_from: int | None = None
    year_to: int | None = None
    verified_only: bool = True
    framework: str = DEFAULT_FRAMEWORK
    # Never read from the query string: set for reviewers, who see only their own organisation's evidence.
    organisation: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        return cls(
            contract=args.get("contract", "").strip(),
            commissioner=args.get("commissioner", "").strip(),
            provider=args.get("provider", "").strip(),
            year_from=_year(args.get("from")),
            year_to=_year(args.get("to")),
            verified_only=args.get("verification") != "all",
            framework=args.get("framework", "").strip() or DEFAULT_FRAMEWORK,
        )

    def query_args(self, **changes: Any) -> dict[str, str]:
        """This view's query string, with defaults left out so bookmarked links stay short."""
        f = dataclasses.replace(self, **changes)
        args = {
            "contract": f.contract,
            "commissioner": f.commissioner,
            "provider": f.provider,
            "from": str(f.year_from or ""),
            "to": str(f.year_to or ""),
            "verification": "" if f.verified_only else "all",
            "framework": "" if f.framework == DEFAULT_FRAMEWORK else f.framework,
        }
        return {key: value for key, value in args.items() if value}

    @property
    def narrowed(self) -> bool:
        """Whether anything but the defaults is chosen (an empty result then means "try fewer filters")."""
        return bool(self.query_args(verified_only=True))

    def where(self, *, verification: bool = True) -> tuple[str, list[Any]]:
        """SQL conditions on story_outcomes (aliased o); verification=False counts unverified stories too."""
        clauses, params = ["o.framework = ?"], [self.framework]
        for name, column in FACETS:
            if getattr(self, name):
                clauses.append(f"o.{column} = ?")
                params.append(getattr(self, name))
        if self.year_from is not None:
            clauses.append("o.year >= ?")
            params.append(self.year_from)
        if self.year_to is not None:
            clauses.append("o.year <= ?")
            params.append(self.year_to)
        if verification and self.verified_only:
            clauses.append("o.verification != ?")
            params.append(UNVERIFIED)
        return " AND ".join(clauses), params

    def explorer_args(self, *cell: tuple[str, str]) -> list[tuple[str, str]]:
        """The same question for Datasette 0.65's story_outcomes table page, in its filter syntax."""
        args = [("framework", self.framework)]
        args += [(column, getattr(self, name)) for name, column in FACETS if getattr(self, name)]
        if self.year_from is not None:
            args.append(("year__gte", str(self.year_from)))
        if self.year_to is not None:
            args.append(("year__lte", str(self.year_to)))
        if self.verified_only:
            args.append(("verification__not", UNVERIFIED))
        return args + list(cell)


@dataclass(frozen=True)
class Column:
    """An intervention (or "no intervention linked", or all of them) and how Datasette picks out its rows."""

    name: str
    contract_ref: str | None
    provider: str | None
    explorer_filter: Pairs
    intervention_id: int | None = None


@dataclass
class Row:
    domain: str
    label: str
    cells: list[dict[str, int]]  # per column: stories by direction

    @property
    def total(self) -> dict[str, int]:
        return self.cells[-1]  # the last column is "all interventions" (distinct stories, not a sum)


@dataclass
class Period:
    key: str
    label: str
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Quote:
    story_id: int
    title: str
    domain_label: str
    direction: str
    evidence: str
    intervention: str | None
    verification: str


@dataclass
class Evidence:
    """Everything the dashboard shows for one set of filters."""

    built_at: str
    stories_in_file: int
    stories: int = 0  # in scope, whatever their verification
    verification_mix: list[tuple[str, int]] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    periods: list[Period] = field(default_factory=list)
    by_quarter: bool = False
    quotes: list[Quote] = field(default_factory=list)
    options: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @property
    def verified(self) -> int:
        return sum(count for level, count in self.verification_mix if level != UNVERIFIED)

    def top_changes(self, limit: int = 3) -> list[Row]:
        rows = [row for row in self.rows if row.total]
        return sorted(rows, key=lambda row: -sum(row.total.values()))[:limit]


def load(path: Path, filters: Filters, *, only_organisation: str | None = None) -> Evidence | None:
    """The dashboard for these filters, or None when nothing has been published for commissioners yet.

    `only_organisation` is a viewer's whole world (a reviewer's own organisation): even the count of
    stories in the file is theirs only, since the rest of the file is not theirs to know about.
    """
    if only_organisation is not None:
        filters = dataclasses.replace(filters, organisation=only_organisation)
    if not path.exists():
        return None
    conn = read_published(path)
    conn.execute("BEGIN")  # every figure from one state of the file
    conn.row_factory = sqlite3.Row
    try:
        built_at, in_file = conn.execute("SELECT built_at, stories FROM publication").fetchone()
        if only_organisation is not None:
            in_file = conn.execute("SELECT count(*) FROM stories WHERE organisation = ?", [only_organisation]).fetchone()[0]
        evidence = Evidence(built_at=built_at, stories_in_file=in_file)
        if in_file:
            _fill(conn, filters, evidence)
        return evidence
    finally:
        conn.close()


def _fill(conn: sqlite3.Connection, filters: Filters, evidence: Evidence) -> None:
    scope, scope_params = filters.where(verification=False)
    where, params = filters.where()
    evidence.verification_mix = [
        (level, count)
        for level, count in conn.execute(
            f"SELECT verification, COUNT(DISTINCT story_id) FROM story_outcomes o WHERE {scope} GROUP BY 1 ORDER BY 2 DESC, 1",
            scope_params,
        )
    ]
    evidence.stories = sum(count for _, count in evidence.verification_mix)
    evidence.columns = _columns(conn, filters)
    evidence.rows = _matrix(conn, filters, evidence.columns)
    months = conn.execute(
        f"SELECT substr(s.told_on, 1, 7), o.direction, COUNT(DISTINCT o.story_id) FROM story_outcomes o"
        f" JOIN stories s ON s.id = o.story_id WHERE {where} GROUP BY 1, 2",
        params,
    ).fetchall()
    evidence.by_quarter, evidence.periods = _periods(months)
    evidence.quotes = _quotes(conn, where, params)
    evidence.options = _options(conn)


def _columns(conn: sqlite3.Connection, filters: Filters) -> list[Column]:
    # Columns ignore the verification switch, so an intervention with nothing verified yet still shows (empty).
    scope, params = filters.where(verification=False)
    columns = []
    for row in conn.execute(
        f"SELECT DISTINCT intervention_id, intervention, contract_ref, provider FROM story_outcomes o WHERE {scope}"
        " ORDER BY intervention_id IS NULL, contract_ref, intervention, intervention_id",
        params,
    ):
        if row["intervention_id"] is None:
            columns.append(Column("No intervention linked", None, None, (("intervention_id__isnull", "1"),)))
        else:
            columns.append(
                Column(
                    row["intervention"],
                    row["contract_ref"],
                    row["provider"],
                    (("intervention_id", str(row["intervention_id"])),),
                    row["intervention_id"],
                )
            )
    return [*columns, Column("All interventions", None, None, ())]


def _matrix(conn: sqlite3.Connection, filters: Filters, columns: list[Column]) -> list[Row]:
    where, params = filters.where()
    counts: dict[tuple[str, int | None | str], dict[str, int]] = defaultdict(dict)
    for domain, intervention_id, direction, stories in conn.execute(
        f"SELECT domain, intervention_id, direction, COUNT(DISTINCT story_id) FROM story_outcomes o WHERE {where}"
        " GROUP BY 1, 2, 3",
        params,
    ):
        counts[domain, intervention_id][direction] = stories
    # "All" counts distinct stories: one story told under two interventions is one story.
    for domain, direction, stories in conn.execute(
        f"SELECT domain, direction, COUNT(DISTINCT story_id) FROM story_outcomes o WHERE {where} GROUP BY 1, 2",
        params,
    ):
        counts[domain, "all"][direction] = stories
    keys = [column.intervention_id if column.explorer_filter else "all" for column in columns]
    present = {domain for domain, _ in counts}
    return [
        Row(domain, domain_label(domain), [_ordered(counts.get((domain, key), {})) for key in keys])
        for domain in _domains(filters.framework, present)
    ]


def _domains(framework: str, present: set[str]) -> list[str]:
    """Every person-level domain of a shipped framework (an empty row is evidence too), then any others told of."""
    shipped = _shipped(framework)
    expected = shipped.domain_ids(("person",)) if shipped else []
    ordered = shipped.domain_ids() if shipped else []
    extra = [d for d in ordered if d in present and d not in expected]
    return expected + extra + sorted(present - set(expected) - set(extra))


def _ordered(counts: Mapping[str, int]) -> dict[str, int]:
    return {direction: counts[direction] for direction in DIRECTIONS if counts.get(direction)}


def _periods(months: list[Any]) -> tuple[bool, list[Period]]:
    """Stories per month by direction, every month between the first and last (gaps show); by quarter if long."""
    if not months:
        return False, []
    keys = sorted({m[0] for m in months})
    first, last = _month_number(keys[0]), _month_number(keys[-1])
    by_quarter = last - first + 1 > MAX_MONTHS
    periods: dict[str, Period] = {}
    for number in range(first, last + 1):
        year, month = divmod(number, 12)
        key, label = _period(year, month + 1, by_quarter)
        periods.setdefault(key, Period(key, label))
    for month, direction, stories in months:
        year, number = int(month[:4]), int(month[5:7])
        counts = periods[_period(year, number, by_quarter)[0]].counts
        counts[direction] = counts.get(direction, 0) + stories  # a story has one told_on: months add up exactly
    for period in periods.values():
        period.counts = _ordered(period.counts)
    return by_quarter, list(periods.values())


def _period(year: int, month: int, by_quarter: bool) -> tuple[str, str]:
    if by_quarter:
        quarter = (month - 1) // 3
        return f"{year}-Q{quarter + 1}", f"{MONTHS[quarter * 3]}–{MONTHS[quarter * 3 + 2]} {year}"
    return f"{year}-{month:02d}", f"{MONTHS[month - 1]} {year}"


def _month_number(key: str) -> int:
    return int(key[:4]) * 12 + int(key[5:7]) - 1


def _quotes(conn: sqlite3.Connection, where: str, params: list[Any]) -> list[Quote]:
    """A few of the storytellers' own words: verified and recent first, from different stories and domains."""
    candidates = [
        Quote(
            r["story_id"],
            r["title"],
            domain_label(r["domain"]),
            r["direction"],
            r["evidence"].strip(),
            r["intervention"],
            r["verification"],
        )
        for r in conn.execute(
            f"SELECT story_id, title, domain, direction, evidence, intervention, verification FROM story_outcomes o"
            f" WHERE {where} AND trim(coalesce(o.evidence, '')) != ''"
            " ORDER BY o.verification = ?, o.year DESC, o.story_id DESC, o.id LIMIT 200",
            [*params, UNVERIFIED],
        )
    ]
    chosen: list[Quote] = []
    candidates = [quote for quote in candidates if in_their_own_words(quote.evidence)]
    for distinct_domains in (True, False):
        for quote in candidates:
            if len(chosen) == QUOTES:
                return chosen
            if any(q.story_id == quote.story_id or (distinct_domains and q.domain_label == quote.domain_label) for q in chosen):
                continue
            chosen.append(quote)
    return chosen


def in_their_own_words(evidence: str) -> bool:
    """Is this evidence a storyteller speaking, and saying enough to quote?"""
    return len(evidence.split()) >= MIN_QUOTE_WORDS and bool(FIRST_PERSON.search(evidence)) and not STAFF_NOTE.search(evidence)


def _options(conn: sqlite3.Connection) -> dict[str, list[tuple[str, str]]]:
    """Choices for the filter form: only values that some published story carries."""
    contracts = [
        (ref, f"{ref} — {names}")
        for ref, names in conn.execute(
            "SELECT contract_ref, group_concat(intervention, ', ') FROM (SELECT DISTINCT contract_ref, intervention"
            " FROM story_outcomes WHERE coalesce(contract_ref, '') != '' ORDER BY intervention) GROUP BY 1 ORDER BY 1"
        )
    ]
    options = {"contract": contracts}
    for name, column in FACETS[1:]:
        options[name] = [
            (v, v)
            for (v,) in conn.execute(
                f"SELECT DISTINCT {column} FROM story_outcomes WHERE coalesce({column}, '') != '' ORDER BY 1"
            )
        ]
    options["year"] = [
        (str(y), str(y)) for (y,) in conn.execute("SELECT DISTINCT year FROM story_outcomes WHERE year IS NOT NULL ORDER BY 1")
    ]
    # The shipped lenses are always offered (Five Ways may simply have no stories yet), then any loaded by users.
    frameworks = [*SHIPPED, *sorted({f for (f,) in conn.execute("SELECT DISTINCT framework FROM story_outcomes")} - set(SHIPPED))]
    options["framework"] = [(f, shipped.name if (shipped := _shipped(f)) else f) for f in frameworks]
    return options


def _shipped(framework: str) -> Framework | None:
    """A framework that ships with Storybank; never a file named by a query string."""
    if framework not in SHIPPED:
        return None
    try:
        return load_framework(framework)
    except FrameworkError:  # a frameworks folder override without it
        return None


def _year(value: str | None) -> int | None:
    year = whole_number(value)
    return year if year is not None and 1000 <= year <= 9999 else None
