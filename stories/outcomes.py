"""Outcome domains and directions: labels come from the framework files, so they live in one place."""

from __future__ import annotations

import functools

from stories.frameworks import DEFAULT_FRAMEWORK, default_framework, frameworks_dir, load_framework

DIRECTIONS = ("improved", "worsened", "mixed", "mentioned")
SHIPPED = (DEFAULT_FRAMEWORK, "five-ways")


def person_level_domains() -> list[str]:
    """The ONS person-level domains a worker can tag by hand."""
    return default_framework().domain_ids(("person",))


def domain_label(domain: str) -> str:
    return _labels().get(domain) or domain.replace("_", " ").capitalize()


@functools.cache
def _labels() -> dict[str, str]:
    # Read once per process: publishing asks for a label for every outcome of every story.
    labels: dict[str, str] = {}
    for name in SHIPPED:
        for item in load_framework(frameworks_dir() / f"{name}.yml").domains:
            labels.setdefault(item.id, item.label)
    return labels
