"""Outcome domains and directions, read from the framework files so labels live in one place."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

FRAMEWORKS_DIR = Path(__file__).resolve().parent.parent / "frameworks"
DIRECTIONS = ("improved", "worsened", "mixed", "mentioned")
DEFAULT_FRAMEWORK = "ons-wellbeing"


@functools.cache
def _labels() -> dict[str, str]:
    labels: dict[str, str] = {}
    for path in sorted(FRAMEWORKS_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        for domain in data.get("domains", []):
            labels.setdefault(domain["id"], domain.get("label") or domain["id"])
    return labels


@functools.cache
def _ons_domains() -> list[dict]:
    data = yaml.safe_load((FRAMEWORKS_DIR / "ons-wellbeing.yml").read_text())
    return [d for d in data["domains"] if d.get("level", "person") == "person"]


def person_level_domains() -> list[str]:
    """The ONS person-level domains a worker can tag by hand."""
    return [d["id"] for d in _ons_domains()]


def domain_label(domain: str) -> str:
    return _labels().get(domain) or domain.replace("_", " ").capitalize()
