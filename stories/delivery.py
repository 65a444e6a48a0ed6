"""What each contract promised, and what the published stories show: the tables of a published file, and the delivery view.

One place decides which stories evidence a promise, as SQL views inside each published file
(`commitment_evidence`, `unpromised_outcomes`): a confirmed outcome in a verified story, under the
commitment's intervention, in one of its domains, told within its period (to the day where the file
has the day, to the month in the public file, which has only the month). The counts written into the
file's `commitments` table are made from those views, so a story taken out of a file (a withdrawal's
copy) leaves its counts when they are made again, and the app's delivery view reads that same file:
the page and the published file cannot disagree. Words and stories only; no money, no scores.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from stories.assurance import LEVELS
from stories.dashboard import in_their_own_words
from stories.frameworks import DEFAULT_FRAMEWORK
from stories.outcomes import DIRECTIONS, domain_label
from stories.sqlite import read_published, sqlite3

UNVERIFIED = LEVELS[()]
QUOTES = 3
NO_EVIDENCE = "No evidence yet"

# Constants of this module, never input: a view cannot take parameters, so they are written in as literals.
_VERIFIED = "o.verification != '{}'".format(UNVERIFIED.replace("'", "''"))
_FRAMEWORK = "o.framework = '{}'".format(DEFAULT_FRAMEWORK.replace("'", "''"))
# A day ("2024-03-10") or a month ("2024-03", the public file) compared with a period's dates at the same length.
_WITHIN = """(c.period_from IS NULL OR s.told_on >= substr(c.period_from, 1, length(s.told_on)))
        AND (c.period_to IS NULL OR s.told_on <= substr(c.period_to, 1, length(s.told_on)))"""
_CONTRACT = "coalesce(nullif(i.contract_ref, ''), i.name)"
COUNTED = ("stories", *DIRECTIONS, "chosen_as_most_significant")

SCHEMA = [
    f"""CREATE TABLE commitments (
        id INTEGER PRIMARY KEY, contract TEXT, intervention_id INTEGER REFERENCES interventions(id), intervention TEXT,
        provider TEXT, commissioner TEXT, contract_ref TEXT, outcome TEXT, domains TEXT, domain_labels TEXT,
        contribution TEXT, period_from TEXT, period_to TEXT, for_whom TEXT, evidence TEXT,
        {", ".join(f"{column} INTEGER" for column in COUNTED)})""",
    f"""CREATE VIEW commitment_evidence AS
        SELECT c.id AS commitment_id, c.contract, c.outcome AS commitment, o.story_id, o.title, s.told_on, o.domain,
            o.domain_label, o.direction, o.evidence, o.contribution, o.verification, s.most_significant_change
        FROM commitments c
        JOIN json_each(c.domains) AS promised
        JOIN story_outcomes o ON o.intervention_id = c.intervention_id AND o.domain = promised.value
        JOIN stories s ON s.id = o.story_id
        WHERE {_VERIFIED} AND {_FRAMEWORK} AND {_WITHIN}""",
    f"""CREATE VIEW unpromised_outcomes AS
        SELECT {_CONTRACT} AS contract, o.story_id, o.title, s.told_on, o.domain, o.domain_label, o.direction,
            o.evidence, o.contribution, o.intervention_id, o.intervention, o.verification
        FROM story_outcomes o
        JOIN interventions i ON i.id = o.intervention_id
        JOIN stories s ON s.id = o.story_id
        WHERE {_VERIFIED} AND {_FRAMEWORK} AND NOT EXISTS (
            SELECT 1 FROM commitments c JOIN json_each(c.domains) AS promised
            WHERE c.intervention_id = o.intervention_id AND promised.value = o.domain AND {_WITHIN})""",
]
_COUNT_SQL = (
    "UPDATE commitments SET stories = (SELECT count(DISTINCT story_id) FROM commitment_evidence e"
    " WHERE e.commitment_id = commitments.id), "
    + ", ".join(
        f"{direction} = (SELECT count(DISTINCT story_id) FROM commitment_evidence e"
        f" WHERE e.commitment_id = commitments.id AND e.direction = '{direction}')"
        for direction in DIRECTIONS
    )
    + ", chosen_as_most_significant = (SELECT count(DISTINCT story_id) FROM commitment_evidence e"
    " WHERE e.commitment_id = commitments.id AND e.most_significant_change IS NOT NULL)"
)


def write_commitments(
    db: sqlite_utils.Database, commitments: Iterable[Mapping[str, Any]], interventions: Mapping[int, Mapping[str, Any]]
) -> None:
    """The published file's commitments (their counts follow, from `count_evidence`) and the views over them."""
    for statement in SCHEMA:
        db.execute(statement)
    rows = []
    for item in commitments:
        intervention = interventions.get(item["intervention_id"])
        if intervention is None:
            continue
        rows.append(
            [
                item["id"],
                intervention["contract_ref"] or intervention["name"],
                item["intervention_id"],
                intervention["name"],
                intervention["provider"],
                intervention["commissioner"],
                intervention["contract_ref"],
                item["outcome"],
                json.dumps(item["domains"]),
                json.dumps([domain_label(domain) for domain in item["domains"]]),
                item["contribution"],
                item["period_from"],
                item["period_to"],
                item["for_whom"],
            ]
        )
    db.conn.executemany(
        "INSERT INTO commitments (id, contract, intervention_id, intervention, provider, commissioner, contract_ref, outcome,"
        " domains, domain_labels, contribution, period_from, period_to, for_whom) VALUES"
        " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def count_evidence(db: sqlite_utils.Database) -> None:
    """Stories evidencing each commitment, by direction, from the rows now in the file (after a build or a removal)."""
    if not db.execute("SELECT 1 FROM sqlite_schema WHERE name = 'commitments'").fetchone():
        return  # a file built before commitments were published: its copy has none to count
    db.execute(_COUNT_SQL)
    db.execute("UPDATE commitments SET evidence = CASE WHEN stories = 0 THEN ? ELSE NULL END", [NO_EVIDENCE])


@dataclass(frozen=True)
class Quote:
    story_id: int
    title: str
    domain_label: str
    direction: str
    evidence: str


@dataclass
class Promise:
    """One commitment, beside the stories that evidence it."""

    id: int
    outcome: str
    intervention: str
    domain_labels: list[str]
    contribution: str
    period_from: str | None
    period_to: str | None
    for_whom: str
    stories: int
    by_direction: dict[str, int]
    chosen_as_most_significant: int
    quotes: list[Quote] = field(default_factory=list)
    most_significant: list[tuple[int, str, str]] = field(default_factory=list)  # story id, title, what the panel said


@dataclass
class Unpromised:
    """A domain people reported change in under the contract that no commitment covers."""

    domain_label: str
    stories: int
    by_direction: dict[str, int]
    quotes: list[Quote] = field(default_factory=list)


@dataclass
class Delivery:
    contract: str
    period: str
    built_at: str
    contracts: list[tuple[str, str]]
    periods: list[tuple[str, str]]
    promises: list[Promise] = field(default_factory=list)
    unpromised: list[Unpromised] = field(default_factory=list)
    commissioner: str = ""
    not_found: str = ""  # the contract asked for, when the file has no such contract

    @property
    def period_label(self) -> str:
        return dict(self.periods).get(self.period, "Every period")

    @property
    def unevidenced(self) -> list[Promise]:
        return [promise for promise in self.promises if not promise.stories]


def as_the_board_may_read(view: Delivery, may_read: Callable[[int], bool]) -> Delivery:
    """The same view with only the words of stories the board may read today: counts are stories, the words are theirs."""
    return dataclasses.replace(
        view,
        promises=[
            dataclasses.replace(
                promise,
                quotes=[quote for quote in promise.quotes if may_read(quote.story_id)],
                most_significant=[choice for choice in promise.most_significant if may_read(choice[0])],
            )
            for promise in view.promises
        ],
        unpromised=[
            dataclasses.replace(item, quotes=[quote for quote in item.quotes if may_read(quote.story_id)])
            for item in view.unpromised
        ],
    )


def stories_quoted(view: Delivery) -> set[int]:
    """Every story whose words the view shows (quotes and the panels' choices): what an export of it holds."""
    quoted = {quote.story_id for promise in view.promises for quote in promise.quotes}
    quoted |= {choice[0] for promise in view.promises for choice in promise.most_significant}
    return quoted | {quote.story_id for item in view.unpromised for quote in item.quotes}


def period_key(period_from: str | None, period_to: str | None) -> str:
    return f"{period_from or ''}..{period_to or ''}"


def period_words(period_from: str | None, period_to: str | None) -> str:
    if period_from and period_to:
        return f"{period_from} to {period_to}"
    if period_from:
        return f"from {period_from}"
    if period_to:
        return f"until {period_to}"
    return "no set period"


def load(path: Path, contract: str = "", period: str = "") -> Delivery | None:
    """The delivery view of one contract (the first with commitments if none is named), or None with nothing published."""
    if not path.exists():
        return None
    conn = read_published(path)
    conn.execute("BEGIN")  # every figure from one state of the file
    conn.row_factory = sqlite3.Row
    try:
        built_at = conn.execute("SELECT built_at FROM publication").fetchone()[0]
        if not conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'commitments'").fetchone():
            return Delivery(contract, period, built_at, [], [])
        contracts = _contracts(conn)
        not_found = ""
        if contract not in {key for key, _ in contracts}:
            # A bookmark to a contract no longer in the file: say so, and show the first one instead.
            not_found, contract = contract, contracts[0][0] if contracts else ""
        periods = [
            (period_key(r["period_from"], r["period_to"]), period_words(r["period_from"], r["period_to"]))
            for r in conn.execute(
                "SELECT DISTINCT period_from, period_to FROM commitments WHERE contract = ? ORDER BY period_from, period_to",
                [contract],
            )
        ]
        if period not in {key for key, _ in periods}:
            period = ""
        delivery = Delivery(contract, period, built_at, contracts, periods, not_found=not_found)
        if contract:
            _fill(conn, delivery)
        return delivery
    finally:
        conn.close()


def _contracts(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Contracts with commitments first, then those with stories but no promise written down."""
    rows = conn.execute(
        f"SELECT {_CONTRACT} AS contract, group_concat(i.name, ', ') AS names, max(i.commissioner) AS commissioner,"
        " EXISTS (SELECT 1 FROM commitments c WHERE c.contract = " + _CONTRACT + ") AS promised"
        " FROM interventions i GROUP BY 1 HAVING promised OR sum(i.stories) > 0 ORDER BY promised DESC, 1"
    ).fetchall()
    return [
        (row["contract"], row["contract"] if row["contract"] == row["names"] else f"{row['contract']}: {row['names']}")
        for row in rows
    ]


def _fill(conn: sqlite3.Connection, delivery: Delivery) -> None:
    period_from, _, period_to = delivery.period.partition("..")
    only_period = " AND coalesce(period_from, '') = ? AND coalesce(period_to, '') = ?" if delivery.period else ""
    params: list[Any] = [delivery.contract] + ([period_from, period_to] if delivery.period else [])
    commissioners = conn.execute(
        f"SELECT DISTINCT i.commissioner FROM interventions i WHERE {_CONTRACT} = ? AND coalesce(i.commissioner, '') != ''",
        [delivery.contract],
    ).fetchall()
    delivery.commissioner = ", ".join(row[0] for row in commissioners)
    for row in conn.execute(
        "SELECT * FROM commitments WHERE contract = ?" + only_period + " ORDER BY contribution DESC, period_from, id", params
    ):
        promise = Promise(
            row["id"],
            row["outcome"],
            row["intervention"],
            json.loads(row["domain_labels"]),
            row["contribution"],
            row["period_from"],
            row["period_to"],
            row["for_whom"] or "",
            row["stories"],
            {direction: row[direction] for direction in DIRECTIONS if row[direction]},
            row["chosen_as_most_significant"],
        )
        evidence = conn.execute(
            "SELECT * FROM commitment_evidence WHERE commitment_id = ? ORDER BY told_on DESC, story_id DESC", [promise.id]
        ).fetchall()
        promise.quotes = _quotes(evidence)
        promise.most_significant = _most_significant(evidence)
        delivery.promises.append(promise)
    # What changed that nobody promised: within the chosen period, if one is chosen.
    within = ""
    if delivery.period:
        within = (
            " AND (? = '' OR told_on >= substr(?, 1, length(told_on))) AND (? = '' OR told_on <= substr(?, 1, length(told_on)))"
        )
    outcomes = conn.execute(
        "SELECT * FROM unpromised_outcomes WHERE contract = ?" + within + " ORDER BY domain_label, told_on DESC, story_id DESC",
        [delivery.contract] + ([period_from, period_from, period_to, period_to] if delivery.period else []),
    ).fetchall()
    by_domain: dict[str, list[Any]] = {}
    for row in outcomes:
        by_domain.setdefault(row["domain_label"], []).append(row)
    for label, rows in by_domain.items():
        counts = {d: len({r["story_id"] for r in rows if r["direction"] == d}) for d in DIRECTIONS}
        delivery.unpromised.append(
            Unpromised(label, len({r["story_id"] for r in rows}), {d: n for d, n in counts.items() if n}, _quotes(rows))
        )
    delivery.unpromised.sort(key=lambda item: -item.stories)


def _quotes(rows: Iterable[Any]) -> list[Quote]:
    """The strongest of the storytellers' own words: improvement first, one quote per story, most recent first."""
    candidates = [r for r in rows if r["evidence"] and in_their_own_words(r["evidence"].strip())]
    candidates.sort(key=lambda r: r["direction"] != "improved")  # stable: recent first within each
    chosen: list[Quote] = []
    for r in candidates:
        if len(chosen) == QUOTES:
            break
        if any(quote.story_id == r["story_id"] for quote in chosen):
            continue
        chosen.append(Quote(r["story_id"], r["title"], r["domain_label"], r["direction"], r["evidence"].strip()))
    return chosen


def _most_significant(rows: Iterable[Any]) -> list[tuple[int, str, str]]:
    seen: dict[int, tuple[int, str, str]] = {}
    for r in rows:
        if r["most_significant_change"] and r["story_id"] not in seen:
            seen[r["story_id"]] = (r["story_id"], r["title"], r["most_significant_change"])
    return list(seen.values())
