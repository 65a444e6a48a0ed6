"""The commissioners' evidence in REFI-QDA 1.5: a project (`.qdpx`) and a codebook (`.qdc`) for evaluators.

REFI-QDA is the exchange standard of NVivo, ATLAS.ti, MAXQDA, QualCoder and others. A project is a
zip holding `project.qde` (XML in `urn:QDA-XML:project:1.0`) and its text sources as UTF-8 files in
`sources/`; a codebook is one XML file in `urn:QDA-XML:codebook:1.0`. Codes are the outcome
frameworks: a framework, its domains, and under each domain the four directions of change, so a
segment is coded "Our relationships › improved" and every tool can still gather it under the domain
(see README, "Evidence for evaluators"). A selection is a span of code points in its source's text,
start at the first and end just past the last (`text[start:end]`), as the standard's worked
example and QualCoder read it. GUIDs are derived from what they name, so the same code, story or
span has the same GUID in every export, and a new export merges with an old one in the evaluator's tool.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import uuid
import zipfile
from collections.abc import Iterable, Mapping
from typing import Any
from xml.etree import ElementTree as ET

from stories.assurance import CONTRIBUTIONS
from stories.consent import LABELS as IDENTITY_LABELS
from stories.frameworks import Framework
from stories.identity import PublishedVersion
from stories.outcomes import DIRECTIONS
from stories.story import Story

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
ORIGIN = "Storybank"
_GUIDS = uuid.uuid5(uuid.NAMESPACE_URL, "storybank:refi-qda")
DIRECTION_COLOURS = {"improved": "#1B7F3B", "worsened": "#B3261E", "mixed": "#B26B00", "mentioned": "#5F6368"}
DIRECTION_WORDS = {
    "improved": "the storyteller's words show this got better",
    "worsened": "the storyteller's words show this got worse",
    "mixed": "better in some ways and worse in others",
    "mentioned": "talked about, with no change either way",
}
TOLD_AS = {"written": "Written", "recorded": "Told aloud (a reviewed transcript)"}
NAME_LENGTH = 100
# Characters XML 1.0 cannot carry (C0 controls but tab and line breaks, lone surrogates, U+FFFE/F):
# dropped from the XML only; a source's own text keeps every code point, so positions stay true.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclasses.dataclass(frozen=True)
class Coding:
    """One confirmed outcome tag: its code, and where in the story it stands (None: the story as a whole)."""

    framework: str
    domain: str
    direction: str
    span: tuple[int, int] | None
    description: str = ""  # what the evaluator needs beside the words: intervention, contribution
    note: str | None = None  # evidence words recorded apart from the story's text


@dataclasses.dataclass(frozen=True)
class Source:
    """One story as the audience reads it: its published text, its facts as variables, its codings."""

    key: str  # stable, and nothing a reader could learn from: the GUIDs are made from it
    name: str
    text: str
    description: str
    variables: Mapping[str, str | int]
    codings: tuple[Coding, ...]


def source_from(row: Mapping[str, Any], story: Story, version: PublishedVersion) -> Source:
    """A story's published row (pipelines/publish.py: published_rows) as a text source.

    `story` and `version` only place each confirmed tag's evidence in the published text: every
    word comes from the row, the text its audience is given at the consented identity level.
    """
    interventions = {item["id"]: item for item in row["interventions"]}
    codings = []
    for (tag, _), outcome in zip(version.published_tags(story), row["outcomes"], strict=True):
        span = version.evidence_offsets(story, tag)
        linked = interventions.get(outcome["intervention_id"])
        about = [
            f"Intervention: {linked['name']} ({linked['provider']})" if linked else "",
            CONTRIBUTIONS.get(outcome["contribution"] or "", ""),
            f"Contribution statement: {outcome['contribution_statement']}" if outcome["contribution_statement"] else "",
        ]
        codings.append(
            Coding(
                outcome["framework"],
                outcome["domain"],
                outcome["direction"],
                span,
                description=". ".join(part for part in about if part),
                note=None if span else outcome["evidence"],
            )
        )
    items = row["interventions"]
    variables: dict[str, str | int] = {
        "Story": row["id"],
        "Told (month)": row["told_on"][:7],
        "Organisation": row["organisation"] or "",
        "Area": row["area"] or "",
        "Interventions": "; ".join(sorted({i["name"] for i in items})),
        "Providers": "; ".join(sorted({i["provider"] for i in items})),
        "Contracts": "; ".join(sorted({i["contract_ref"] for i in items if i["contract_ref"]})),
        "Verification": row["verification"],
        "Identity level": IDENTITY_LABELS.get(row["identity_level"], row["identity_level"]),
        "Told as": TOLD_AS.get(row["told_as"], row["told_as"]),
    }
    msc = row["most_significant_change"]
    return Source(
        key=story.uid,
        name=f"Story {row['id']}: {row['title']}",
        text=row["body"],
        description=f"Chosen as a Most Significant Change story: {msc}" if msc else "",
        variables=variables,
        codings=tuple(codings),
    )


def guid(*parts: object) -> str:
    return str(uuid.uuid5(_GUIDS, "/".join(str(part) for part in parts))).upper()


def codebook(frameworks: Iterable[Framework]) -> bytes:
    """The frameworks alone, as a REFI-QDA codebook (`.qdc`)."""
    root = ET.Element(_tag(CODEBOOK_NS, "CodeBook"), origin=ORIGIN)
    root.append(_codes(CODEBOOK_NS, frameworks))
    return _xml(root, CODEBOOK_NS)


def project(
    name: str,
    description: str,
    frameworks: Iterable[Framework],
    sources: Iterable[Source],
    *,
    user: tuple[str, str],
    at: dt.datetime,
) -> bytes:
    """A REFI-QDA project (`.qdpx`): the codebook, the variables, each story a text source with its codings.

    `user` is (a stable key, the display name) of whoever exports it: the creator of every element.
    """
    ns, sources = PROJECT_NS, list(sources)
    stamp = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    user_guid = guid("user", user[0])
    root = ET.Element(_tag(ns, "Project"), name=_clean(name), origin=ORIGIN, creatingUserGUID=user_guid, creationDateTime=stamp)
    users = ET.SubElement(root, _tag(ns, "Users"))
    ET.SubElement(users, _tag(ns, "User"), guid=user_guid, name=_clean(user[1]))
    ET.SubElement(root, _tag(ns, "CodeBook")).append(_codes(ns, frameworks))
    variable_names = list(dict.fromkeys(name for source in sources for name in source.variables))
    if variable_names:
        variables = ET.SubElement(root, _tag(ns, "Variables"))
        for variable in variable_names:
            kind = "Integer" if all(isinstance(s.variables.get(variable, 0), int) for s in sources) else "Text"
            ET.SubElement(variables, _tag(ns, "Variable"), guid=guid("variable", variable), name=variable, typeOfVariable=kind)
    notes: list[ET.Element] = []
    if sources:
        listed = ET.SubElement(root, _tag(ns, "Sources"))
        for source in sources:
            listed.append(_text_source(source, user_guid, stamp, notes))
    if notes:
        ET.SubElement(root, _tag(ns, "Notes")).extend(notes)
    ET.SubElement(root, _tag(ns, "Description")).text = _clean(description)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(_entry("project.qde", at), _xml(root, ns))
        for source in sources:
            zipped.writestr(_entry(f"sources/{guid('source', source.key)}.txt", at), source.text.encode("utf-8"))
    return archive.getvalue()


def _codes(ns: str, frameworks: Iterable[Framework]) -> ET.Element:
    """Framework (not codable: a heading) > domain > direction of change."""
    codes = ET.Element(_tag(ns, "Codes"))
    for framework in frameworks:
        heading = _clean(framework.name)
        top = ET.SubElement(codes, _tag(ns, "Code"), guid=guid("code", framework.id), name=heading, isCodable="false")
        for domain in framework.domains:
            item = ET.SubElement(
                top, _tag(ns, "Code"), guid=guid("code", framework.id, domain.id), name=_clean(domain.label), isCodable="true"
            )
            if domain.description:
                ET.SubElement(item, _tag(ns, "Description")).text = _clean(domain.description)
            for direction in DIRECTIONS:
                sub = ET.SubElement(
                    item,
                    _tag(ns, "Code"),
                    guid=guid("code", framework.id, domain.id, direction),
                    name=_clean(f"{domain.label} › {direction}"),
                    isCodable="true",
                    color=DIRECTION_COLOURS[direction],
                )
                ET.SubElement(sub, _tag(ns, "Description")).text = _clean(f"{domain.label}: {DIRECTION_WORDS[direction]}.")
    return codes


def _text_source(source: Source, user_guid: str, stamp: str, notes: list[ET.Element]) -> ET.Element:
    ns, source_guid = PROJECT_NS, guid("source", source.key)
    made = {"creatingUser": user_guid, "creationDateTime": stamp}
    element = ET.Element(
        _tag(ns, "TextSource"), guid=source_guid, name=_clean(source.name), plainTextPath=f"internal://{source_guid}.txt", **made
    )
    if source.description:
        ET.SubElement(element, _tag(ns, "Description")).text = _clean(source.description)
    spans: dict[tuple[int, int], list[Coding]] = {}
    whole = []
    # Two tags with one code on one span are one coding (a GUID names it).
    for coding in {(c.framework, c.domain, c.direction, c.span): c for c in source.codings}.values():
        if coding.span is None:
            whole.append(coding)
        else:
            spans.setdefault(coding.span, []).append(coding)
    for (start, end), codings in sorted(spans.items()):
        selection = ET.SubElement(
            element,
            _tag(ns, "PlainTextSelection"),
            guid=guid("selection", source.key, start, end),
            name=_short(source.text[start:end]),
            startPosition=str(start),
            endPosition=str(end),
            **made,
        )
        described = "\n".join(dict.fromkeys(c.description for c in codings if c.description))
        if described:
            ET.SubElement(selection, _tag(ns, "Description")).text = _clean(described)
        for coding in codings:
            selection.append(_coding(source.key, (start, end), coding, made, notes))
    for coding in whole:
        element.append(_coding(source.key, None, coding, made, notes))
    for variable, value in source.variables.items():
        holder = ET.SubElement(element, _tag(ns, "VariableValue"))
        ET.SubElement(holder, _tag(ns, "VariableRef"), targetGUID=guid("variable", variable))
        kind = "IntegerValue" if isinstance(value, int) else "TextValue"
        ET.SubElement(holder, _tag(ns, kind)).text = _clean(str(value))
    return element


def _coding(key: str, span: tuple[int, int] | None, coding: Coding, made: dict[str, str], notes: list[ET.Element]) -> ET.Element:
    ns = PROJECT_NS
    code = (coding.framework, coding.domain, coding.direction)
    element = ET.Element(_tag(ns, "Coding"), guid=guid("coding", key, span, *code), **made)
    ET.SubElement(element, _tag(ns, "CodeRef"), targetGUID=guid("code", *code))
    if coding.note:
        note_guid = guid("note", key, span, *code)
        note = ET.Element(_tag(ns, "Note"), guid=note_guid, name=_short(coding.note), **made)
        ET.SubElement(note, _tag(ns, "PlainTextContent")).text = _clean(coding.note)
        notes.append(note)
        ET.SubElement(element, _tag(ns, "NoteRef"), targetGUID=note_guid)
    return element


def _tag(ns: str, name: str) -> str:
    return name  # every element is in the root's default namespace (see _xml)


def _xml(root: ET.Element, ns: str) -> bytes:
    # Declared on the root by hand: ElementTree's default_namespace refuses unprefixed attributes.
    root.set("xmlns", ns)
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode").encode("utf-8")


def _entry(name: str, at: dt.datetime) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name, date_time=at.astimezone(dt.UTC).timetuple()[:6])
    entry.compress_type = zipfile.ZIP_DEFLATED
    return entry


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _short(text: str) -> str:
    """A selection's or note's name: its words on one line, cut with an ellipsis."""
    words = " ".join(_clean(text).split())
    return words if len(words) <= NAME_LENGTH else words[: NAME_LENGTH - 1].rstrip() + "…"
