"""Draft commitments read from a file in an open standard the user provides: 360Giving grants or OCDS releases.

Nothing is fetched: the file is the user's own copy. A grant or contracting process is matched to an
intervention by its reference (a 360Giving grant id, an OCDS ocid). Neither standard says which
wellbeing domains a promise is about or whether it is inherent or additional, so what is read becomes
draft rows of the commitments CSV, with those two columns left for a person to fill in before
`storybank commitments import` (people state, machines suggest).

Fields read, and nothing else:
- 360Giving JSON (`grants[]`) or its spreadsheet CSV (column titles as in the standard's template):
  `id` / Identifier, `description` / Description (else `title` / Title), `plannedDates[0].startDate`
  / Planned Dates:Start Date, `plannedDates[0].endDate` / Planned Dates:End Date,
  `beneficiaryLocation[].name` / Beneficiary Location:Name (as who it is for).
- OCDS release package (`releases[]`), record package (`records[].compiledRelease`) or one release:
  `ocid`; each milestone's `description` (else `title`) in `planning.milestones`, `tender.milestones`,
  `contracts[].milestones` and `contracts[].implementation.milestones`, over `contracts[].period`
  (`startDate`, `endDate`); a contract with no milestones gives its `description`, and a release with
  neither, `tender.description`. Amounts, values and suppliers are never read: no money.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stories.commitments import CSV_COLUMNS
from stories.spreadsheet import csv_text, read_as_csv
from stories.validation import Invalid, text

MAX_DRAFT = 1000  # the commitment's own limit (stories.commitments.MAX_OUTCOME)


@dataclass(frozen=True)
class Draft:
    reference: str  # the grant id or ocid it was read under
    outcome: str
    period_from: str
    period_to: str
    for_whom: str
    standard: str  # "360giving" or "ocds"


def read_drafts(content: bytes, filename: str) -> list[Draft]:
    """Every draft commitment in a 360Giving (.json, .csv) or OCDS (.json) file; Invalid names what is wrong."""
    try:
        decoded = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise Invalid({"file": f"The file is not UTF-8 text (byte {error.start})."}) from None
    if filename.lower().endswith(".csv"):
        with read_as_csv():
            return list(_threesixty_csv(decoded))
    try:
        data = json.loads(decoded)
    except json.JSONDecodeError as error:
        raise Invalid({"file": f"The file is not valid JSON (line {error.lineno}: {error.msg})."}) from None
    except RecursionError:  # "[[[[…": no grant or release is nested that deep
        raise Invalid({"file": "The file's JSON is nested too deeply to be a 360Giving or OCDS file."}) from None
    if isinstance(data, dict) and isinstance(data.get("grants"), list):
        return [draft for grant in data["grants"] if isinstance(grant, dict) for draft in _grant(grant)]
    releases = _releases(data)
    if releases is None:
        raise Invalid(
            {"file": "This is neither a 360Giving file (with grants) nor an OCDS release or record package (with releases)."}
        )
    return [draft for release in releases for draft in _release(release)]


def drafts_csv(drafts: Sequence[Draft], interventions: Mapping[str, str]) -> tuple[str, int, list[str]]:
    """(the drafts matched to interventions, as the import's CSV with domains and contribution to fill in; how many;
    the references no intervention has). `interventions` maps a contract reference to the intervention's name."""
    rows: list[list[str]] = [list(CSV_COLUMNS)]
    unmatched: list[str] = []
    for draft in drafts:
        name = interventions.get(draft.reference)
        if name is None:
            if draft.reference not in unmatched:
                unmatched.append(draft.reference)
            continue
        rows.append([name, draft.outcome, "", "", draft.period_from, draft.period_to, draft.for_whom])
    return csv_text(rows), len(rows) - 1, unmatched


def _grant(grant: Mapping[str, Any]) -> Iterator[Draft]:
    words = text(grant.get("description")) or text(grant.get("title"))
    reference = text(grant.get("id"))
    if not (reference and words):
        return
    planned = grant.get("plannedDates") if isinstance(grant.get("plannedDates"), list) else []
    first = planned[0] if planned and isinstance(planned[0], dict) else {}
    places = [text(place.get("name")) for place in grant.get("beneficiaryLocation") or [] if isinstance(place, dict)]
    yield Draft(
        reference,
        words[:MAX_DRAFT],
        _day(first.get("startDate")),
        _day(first.get("endDate")),
        _people_in([place for place in places if place]),
        "360giving",
    )


def _threesixty_csv(decoded: str) -> Iterator[Draft]:
    reader = csv.DictReader(io.StringIO(decoded, newline=""))
    columns = {name.strip().lower(): name for name in reader.fieldnames or []}
    if "identifier" not in columns:
        raise Invalid({"header": "A 360Giving spreadsheet needs an Identifier column (the grant id, 360G-…)."})

    def cell(row: Mapping[str, Any], title: str) -> str:
        return text(row.get(columns.get(title.lower(), ""), ""))

    for row in reader:
        yield from _grant(
            {
                "id": cell(row, "Identifier"),
                "title": cell(row, "Title"),
                "description": cell(row, "Description"),
                "plannedDates": [
                    {"startDate": cell(row, "Planned Dates:Start Date"), "endDate": cell(row, "Planned Dates:End Date")}
                ],
                "beneficiaryLocation": [{"name": cell(row, "Beneficiary Location:Name")}],
            }
        )


def _releases(data: Any) -> list[Mapping[str, Any]] | None:
    if isinstance(data, dict) and isinstance(data.get("releases"), list):
        return [release for release in data["releases"] if isinstance(release, dict)]
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        compiled = (record.get("compiledRelease") for record in data["records"] if isinstance(record, dict))
        return [release for release in compiled if isinstance(release, dict)]
    if isinstance(data, dict) and "ocid" in data:
        return [data]
    return None


def _release(release: Mapping[str, Any]) -> Iterator[Draft]:
    ocid = text(release.get("ocid"))
    if not ocid:
        return
    contracts = [contract for contract in release.get("contracts") or [] if isinstance(contract, dict)]
    period = next((c["period"] for c in contracts if isinstance(c.get("period"), dict)), {})
    tender = release.get("tender") if isinstance(release.get("tender"), dict) else {}
    planning = release.get("planning") if isinstance(release.get("planning"), dict) else {}
    found = False
    for holder in (planning, tender):
        for words in _milestones(holder):
            found = True
            yield _ocds(ocid, words, period)
    for contract in contracts:
        implementation = contract.get("implementation") if isinstance(contract.get("implementation"), dict) else {}
        said = [*_milestones(contract), *_milestones(implementation)]
        own = contract["period"] if isinstance(contract.get("period"), dict) else period
        if not said and text(contract.get("description")):
            said = [text(contract.get("description"))]
        for words in said:
            found = True
            yield _ocds(ocid, words, own)
    if not found and text(tender.get("description")):
        yield _ocds(ocid, text(tender.get("description")), period)


def _milestones(holder: Mapping[str, Any]) -> list[str]:
    milestones = holder.get("milestones") if isinstance(holder.get("milestones"), list) else []
    said = (text(m.get("description")) or text(m.get("title")) for m in milestones if isinstance(m, dict))
    return [words for words in said if words]


def _ocds(ocid: str, words: str, period: Mapping[str, Any]) -> Draft:
    return Draft(ocid, words[:MAX_DRAFT], _day(period.get("startDate")), _day(period.get("endDate")), "", "ocds")


def _day(value: Any) -> str:
    """The date part of a standard's date-time ("2024-04-01T00:00:00Z" -> "2024-04-01")."""
    return text(value)[:10]


def _people_in(places: list[str]) -> str:
    return f"People in {', '.join(places)}" if places else ""
