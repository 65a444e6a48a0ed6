"""Wellbeing outcome frameworks as data: load, validate and fingerprint them (no spaCy here)."""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FRAMEWORKS_DIR_ENV = "STORYBANK_FRAMEWORKS_DIR"
DEFAULT_FRAMEWORK = "ons-wellbeing"
LEVELS = ("person", "community")
# Patterns with this label are service and role names ("housing officer"); they mask the
# domain words inside them instead of tagging anything.
CONTEXT_LABEL = "_context"
PHRASE_SEPARATORS = re.compile(r"[;|]")
DOMAIN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
CSV_PHRASE_COLUMNS = ("example_phrases", "phrases", "examples", "example_phrase", "keywords")


class FrameworkError(ValueError):
    """A framework that cannot be used; the message names the row or field to fix."""


@dataclass(frozen=True)
class Domain:
    id: str
    label: str
    description: str = ""
    level: str = "person"
    crosswalk: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Framework:
    id: str
    name: str
    version: str
    domains: tuple[Domain, ...]
    patterns: tuple[dict[str, Any], ...] = field(hash=False, repr=False)
    path: str = ""

    def domain(self, domain_id: str) -> Domain:
        for domain in self.domains:
            if domain.id == domain_id:
                return domain
        raise KeyError(domain_id)

    def domain_ids(self, levels: tuple[str, ...] = LEVELS) -> list[str]:
        return [d.id for d in self.domains if d.level in levels]


def frameworks_dir() -> Path:
    """The folder holding the shipped frameworks; STORYBANK_FRAMEWORKS_DIR overrides it."""
    override = os.environ.get(FRAMEWORKS_DIR_ENV)
    return Path(override) if override else Path(__file__).resolve().parent.parent / "frameworks"


def resolve_framework_path(name_or_path: str | Path) -> Path:
    """A file path as given, or a bare name such as "five-ways" looked up in frameworks_dir()."""
    path = Path(name_or_path)
    if path.exists():
        return path
    if path.parts[:1] == ("frameworks",) and (frameworks_dir() / path.name).exists():
        return frameworks_dir() / path.name  # "frameworks/five-ways.yml" from any working folder
    if not path.suffix and path.parent == Path("."):
        for suffix in (".yml", ".yaml", ".csv"):
            candidate = frameworks_dir() / f"{path.name}{suffix}"
            if candidate.exists():
                return candidate
    raise FrameworkError(f"{name_or_path}: framework file not found")


def load_framework(path: str | Path) -> Framework:
    """Load a framework from YAML (ours or a commissioner's) or CSV, validating every row."""
    path = resolve_framework_path(path)
    stat = path.stat()
    return _load_cached(os.path.abspath(path), stat.st_mtime_ns, stat.st_size)


def default_framework() -> Framework:
    return load_framework(frameworks_dir() / f"{DEFAULT_FRAMEWORK}.yml")


@functools.lru_cache(maxsize=32)
def _load_cached(path_str: str, _mtime_ns: int, _size: int) -> Framework:
    # Keyed on mtime and size so an edited file is re-read but tagging a batch is not slowed.
    path = Path(path_str)
    suffix = path.suffix.lower()
    if suffix in (".yml", ".yaml"):
        return _from_yaml(path)
    if suffix == ".csv":
        return _from_csv(path)
    raise FrameworkError(f"{path.name}: unsupported framework file type; use .yml, .yaml or .csv")


def _from_yaml(path: Path) -> Framework:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FrameworkError(f"{path.name}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise FrameworkError(f"{path.name}: expected a mapping with 'id', 'name' and 'domains'")
    rows = raw.get("domains")
    if not isinstance(rows, list) or not rows:
        raise FrameworkError(f"{path.name}: 'domains' must be a non-empty list")
    domains, phrases = [], {}
    for number, row in enumerate(rows, start=1):
        where = f"{path.name}: domain {number}"
        if not isinstance(row, dict):
            raise FrameworkError(f"{where}: expected a mapping with id, label and description")
        domain = _domain(row, where)
        domains.append(domain)
        phrases[domain.id] = _phrase_list(row.get("phrases"), f"{where} ({domain.id})")
    _check_unique(domains, path.name, "domain")
    patterns = _phrase_patterns(phrases)
    pattern_files = raw.get("patterns") or []
    for name in [pattern_files] if isinstance(pattern_files, str) else pattern_files:
        patterns.extend(read_patterns(path.parent / str(name), {d.id for d in domains}))
    framework_id = _text(raw.get("id")) or path.stem
    return _framework(framework_id, _text(raw.get("name")) or framework_id, domains, patterns, path)


def _from_csv(path: Path) -> Framework:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = [_column(name) for name in next(reader, [])]
        for required in ("id", "label"):
            if required not in header:
                raise FrameworkError(f"{path.name}: row 1 (header): missing column '{required}'")
        phrase_column = next((c for c in CSV_PHRASE_COLUMNS if c in header), None)
        if phrase_column is None:
            raise FrameworkError(f"{path.name}: row 1 (header): missing column 'example phrases'")
        domains, phrases = [], {}
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            row = dict(zip(header, cells, strict=False))  # short rows leave columns empty
            where = f"{path.name}: row {number}"
            domain = _domain(row, where)
            domains.append(domain)
            phrases[domain.id] = _phrase_list(row.get(phrase_column), f"{where} ({domain.id})")
            if not phrases[domain.id]:
                raise FrameworkError(f"{where} ({domain.id}): no example phrases")
    if not domains:
        raise FrameworkError(f"{path.name}: no domains (rows) found below the header")
    _check_unique(domains, path.name, "row", first_row=2)
    name = path.stem.replace("-", " ").replace("_", " ")
    return _framework(path.stem, name, domains, _phrase_patterns(phrases), path)


def _domain(row: dict[str, Any], where: str) -> Domain:
    domain_id = _text(row.get("id"))
    if not domain_id:
        raise FrameworkError(f"{where}: missing id")
    if not DOMAIN_ID.match(domain_id):
        raise FrameworkError(f"{where}: id '{domain_id}' may only use letters, digits, '_', '-', '.'")
    label = _text(row.get("label"))
    if not label:
        raise FrameworkError(f"{where} ({domain_id}): empty label")
    level = _text(row.get("level")) or "person"
    if level not in LEVELS:
        raise FrameworkError(f"{where} ({domain_id}): level must be one of {', '.join(LEVELS)}")
    crosswalk = row.get("crosswalk") or {}
    if not isinstance(crosswalk, dict):
        raise FrameworkError(f"{where} ({domain_id}): crosswalk must map a scheme to theme names")
    names = {scheme: tuple(_text(n) for n in _as_list(v)) for scheme, v in crosswalk.items()}
    return Domain(domain_id, label, _text(row.get("description")), level, names)


def _check_unique(domains: list[Domain], file_name: str, noun: str, first_row: int = 1) -> None:
    seen: dict[str, int] = {}
    for number, domain in enumerate(domains, start=first_row):
        if domain.id in seen:
            raise FrameworkError(
                f"{file_name}: {noun} {number}: duplicate id '{domain.id}' (first used in {noun} {seen[domain.id]})"
            )
        seen[domain.id] = number


def read_patterns(path: Path, domain_ids: set[str]) -> list[dict[str, Any]]:
    """Read a spaCy patterns JSONL file, checking each line names a known domain."""
    if not path.exists():
        raise FrameworkError(f"{path.name}: patterns file not found")
    patterns = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}: line {number}"
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FrameworkError(f"{where}: not valid JSON ({exc.msg})") from exc
        if not isinstance(entry, dict):
            raise FrameworkError(f"{where}: expected an object with label, pattern and id")
        label, pattern, rule = entry.get("label"), entry.get("pattern"), entry.get("id")
        if label not in domain_ids and label != CONTEXT_LABEL:
            raise FrameworkError(f"{where}: label '{label}' is not a domain id")
        if not (isinstance(pattern, str) and pattern.strip()) and not (
            isinstance(pattern, list) and pattern and all(isinstance(t, dict) for t in pattern)
        ):
            raise FrameworkError(f"{where}: pattern must be a phrase or a list of token patterns")
        if not isinstance(rule, str) or not rule:
            raise FrameworkError(f"{where}: missing rule id")
        patterns.append({"label": label, "pattern": pattern, "id": rule})
    return patterns


def _phrase_patterns(phrases: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [
        {"label": domain_id, "pattern": phrase, "id": f"{domain_id}.phrase{number}"}
        for domain_id, items in phrases.items()
        for number, phrase in enumerate(items, start=1)
    ]


def _framework(framework_id: str, name: str, domains: list[Domain], patterns: list[dict[str, Any]], path: Path) -> Framework:
    for domain in domains:
        if not any(p["label"] == domain.id for p in patterns):
            raise FrameworkError(f"{path.name}: domain '{domain.id}' has no phrases or patterns")
    canonical = {
        "id": framework_id,
        "name": name,
        "domains": [[d.id, d.label, d.description, d.level, {k: list(v) for k, v in d.crosswalk.items()}] for d in domains],
        "patterns": patterns,
    }
    blob = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    version = hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]
    return Framework(framework_id, name, version, tuple(domains), tuple(patterns), str(path))


def _phrase_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items = PHRASE_SEPARATORS.split(value)
    elif isinstance(value, list):
        items = [str(item) for item in value]
    else:
        raise FrameworkError(f"{where}: phrases must be a list or text separated by ';' or '|'")
    return [item.strip() for item in items if item.strip()]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    """A label or description on one line, without control characters (no XML export could carry them)."""
    if value is None:
        return ""
    return " ".join("".join(c for c in str(value) if c.isspace() or unicodedata.category(c) != "Cc").split())


def _column(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
