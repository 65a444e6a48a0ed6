"""The dependency rule (ARCHITECTURE.md): the domain calls neither the use cases, the heavy steps
nor the entry points, and importing it loads no web framework, command-line library or model; the
entry points reach the adapters only through the use cases; the use cases and the adapters call
no entry point."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENTRY_POINTS = {"cli", "cli_tools", "datasette_plugin", "datasette_guard", "datasette_search", "datasette_facets", "supervisor"}
DOMAIN = sorted(p for p in (ROOT / "stories").glob("*.py") if p.stem not in ENTRY_POINTS)
# What the domain may never import, however indirectly: the other layers and the heavy libraries.
FORBIDDEN = (
    "app",
    "pipelines",
    "stories.web",
    "stories.cli",
    "stories.cli_tools",
    "flask",
    "click",
    "faster_whisper",
    "ctranslate2",
    "spacy",
    "huey",
    "datasette",
    "waitress",
    "redis",
)


# The entry points (the web blueprints, the `storybank` command) parse, call a use case and render.
# stories/cli_tools.py is the adapters' own terminal (one file through Whisper, the tagger or the
# redactor, to try them), so it is not held to this rule.
ENTRY_POINT_FILES = sorted([*(ROOT / "stories" / "web").glob("*.py"), ROOT / "stories" / "cli.py"])
ENTRY_POINTS_NEVER = ("app", "pipelines")
SERVICES = sorted((ROOT / "stories" / "services").glob("*.py"))
SERVICES_NEVER = ("app", "stories.web", "stories.cli", "stories.cli_tools", "flask", "click", "waitress")
ADAPTERS = sorted((ROOT / "pipelines").glob("*.py"))
ADAPTERS_NEVER = ("app", "stories.services", "stories.web", "stories.cli", "stories.cli_tools", "flask", "click")


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _forbidden(name: str, never: tuple[str, ...] = FORBIDDEN) -> bool:
    return any(name == bad or name.startswith(bad + ".") for bad in never)


def _breaking(files: list[Path], never: tuple[str, ...]) -> dict[str, list[str]]:
    found = {str(path.relative_to(ROOT)): sorted(n for n in _imports(path) if _forbidden(n, never)) for path in files}
    return {name: names for name, names in found.items() if names}


def test_no_domain_module_names_another_layer_or_a_heavy_library():
    broken = {path.name: sorted(filter(_forbidden, _imports(path))) for path in DOMAIN}
    assert {name: found for name, found in broken.items() if found} == {}


def test_importing_the_whole_domain_loads_nothing_heavy():
    # The rule above reads the source; this runs it, so an import hidden behind a helper is caught too.
    modules = [f"stories.{path.stem}" for path in DOMAIN if path.stem != "__init__"]
    script = (
        f"import importlib, json, sys\nfor m in {modules!r}: importlib.import_module(m)\nprint(json.dumps(sorted(sys.modules)))"
    )
    loaded = json.loads(
        subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    )
    # sqlite-utils, the store's own library, loads click for its plugin hooks; no domain code names it.
    assert sorted(name for name in loaded if _forbidden(name) and name.split(".")[0] != "click") == []


def test_the_rule_sees_a_forbidden_import(tmp_path):
    # The check must be able to fail: a domain file that reaches for Flask inside a function is named.
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def view():\n    from flask import request\n    import pipelines.publish\n")
    assert sorted(filter(_forbidden, _imports(sneaky))) == ["flask", "flask.request", "pipelines.publish"]


def test_entry_points_reach_the_adapters_only_through_the_use_cases():
    assert ENTRY_POINT_FILES and _breaking(ENTRY_POINT_FILES, ENTRY_POINTS_NEVER) == {}


def test_use_cases_call_no_entry_point():
    assert SERVICES and _breaking(SERVICES, SERVICES_NEVER) == {}


def test_adapters_call_neither_use_cases_nor_entry_points():
    assert ADAPTERS and _breaking(ADAPTERS, ADAPTERS_NEVER) == {}


def test_each_layer_rule_sees_a_forbidden_import(tmp_path):
    # A view that queues a job itself, or a use case that reaches for Flask, is named by its layer's rule.
    view = tmp_path / "view.py"
    view.write_text("def save():\n    from pipelines.jobs import request_publish\n    import app\n")
    assert sorted(n for n in _imports(view) if _forbidden(n, ENTRY_POINTS_NEVER)) == [
        "app",
        "pipelines.jobs",
        "pipelines.jobs.request_publish",
    ]
    service = tmp_path / "service.py"
    service.write_text("from flask import request\nfrom stories.web import get_db\n")
    assert sorted(n for n in _imports(service) if _forbidden(n, SERVICES_NEVER)) == [
        "flask",
        "flask.request",
        "stories.web",
        "stories.web.get_db",
    ]
