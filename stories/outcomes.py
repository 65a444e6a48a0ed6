"""Outcome domains and directions: labels come from the framework files, so they live in one place."""

from __future__ import annotations

from stories.frameworks import DEFAULT_FRAMEWORK, default_framework, frameworks_dir, load_framework

DIRECTIONS = ("improved", "worsened", "mixed", "mentioned")
SHIPPED = (DEFAULT_FRAMEWORK, "five-ways")


def person_level_domains() -> list[str]:
    """The ONS person-level domains a worker can tag by hand."""
    return default_framework().domain_ids(("person",))


def domain_label(domain: str) -> str:
    for name in SHIPPED:
        for item in load_framework(frameworks_dir() / f"{name}.yml").domains:
            if item.id == domain:
                return item.label
    return domain.replace("_", " ").capitalize()
