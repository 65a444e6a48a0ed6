"""A commissioner's own outcome framework, checked and kept in the instance for the tagger to use."""

from __future__ import annotations

import shutil
from pathlib import Path

from stories.frameworks import Framework, FrameworkError, default_framework, frameworks_dir, load_framework
from stories.instance import Instance


def import_framework(instance: Instance, source: Path) -> Framework:
    """Validate a framework file, then copy it (and any pattern files it names) into the instance."""
    framework = load_framework(source)
    if framework.id in ("ons-wellbeing", "five-ways"):
        raise FrameworkError(f"{source.name}: the id {framework.id!r} is the built-in framework's; choose another id")
    target_dir = instance.root / "frameworks"
    target_dir.mkdir(exist_ok=True)
    target = target_dir / f"{framework.id}{source.suffix.lower()}"
    shutil.copyfile(source, target)
    for pattern_file in _pattern_files(source):
        shutil.copyfile(source.parent / pattern_file, target_dir / pattern_file)
    return load_framework(target)


def frameworks_in_use(instance: Instance) -> list[Framework]:
    """The default ONS framework, the Five Ways lens, and any framework this instance imported."""
    imported = sorted(p for p in (instance.root / "frameworks").glob("*") if p.suffix in (".yml", ".yaml", ".csv"))
    return [default_framework(), load_framework(frameworks_dir() / "five-ways.yml"), *(load_framework(p) for p in imported)]


def _pattern_files(source: Path) -> list[str]:
    if source.suffix.lower() not in (".yml", ".yaml"):
        return []
    import yaml

    patterns = (yaml.safe_load(source.read_text(encoding="utf-8")) or {}).get("patterns") or []
    return [patterns] if isinstance(patterns, str) else list(patterns)
