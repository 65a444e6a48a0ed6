"""What every page of a journey must be, checked in the browser: axe-core, no sideways scrolling, one of each id,
a plain-text title, nothing missing; and a screenshot of it kept in test-artifacts/journeys/."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from browser_helpers import ARTIFACTS, Steps, slug

try:  # axe-core as the npm package ships it, bundled by this Python package: nothing is fetched
    from axe_playwright_python.sync_playwright import Axe
except ImportError:  # CI installs it; elsewhere the journeys say why they are skipped
    Axe = None

SHOTS = ARTIFACTS / "journeys"
BLOCKING = ("serious", "critical")

DUPLICATE_IDS = """() => {
  const ids = [...document.querySelectorAll("[id]")].map((element) => element.id);
  return [...new Set(ids.filter((id, index) => ids.indexOf(id) !== index))];
}"""
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wider = [...document.body.querySelectorAll("*")].filter((element) => {
    const box = element.getBoundingClientRect();
    return box.width > 0 && box.right > width + 1 && getComputedStyle(element).position !== "fixed";
  });
  return {scroll: document.documentElement.scrollWidth, width,
          wider: wider.slice(0, 5).map((element) => element.outerHTML.slice(0, 120))};
}"""


@dataclass
class PageChecks:
    """Run on each page a journey reaches; every problem is an assertion error naming the page."""

    width: int
    missing: list[str] = field(default_factory=list)  # failed requests for the page's parts (icons, scripts, styles)
    checked: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> Any:
        def note(response: Any) -> None:
            if response.status >= 400 and response.request.resource_type != "document":
                self.missing.append(f"{response.status} {response.url}")

        page.on("response", note)
        return page

    def __call__(self, page: Any, name: str) -> None:
        page.wait_for_load_state("load")
        title = page.title()
        assert "<" not in title and "csrf" not in title.lower(), f"{name}: the title holds markup: {title!r}"
        duplicates = page.evaluate(DUPLICATE_IDS)
        assert not duplicates, f"{name}: ids used more than once: {duplicates}"
        overflow = page.evaluate(OVERFLOW)
        assert overflow["scroll"] <= overflow["width"], f"{name} scrolls sideways at {self.width} px: {overflow}"
        serious = [v for v in Axe().run(page).response["violations"] if v["impact"] in BLOCKING]
        assert not serious, f"{name} at {self.width} px: " + "; ".join(
            f"{v['impact']} {v['id']} ({v['help']}): {[n['target'] for n in v['nodes'][:3]]}" for v in serious
        )
        assert not self.missing, f"{name}: {self.missing}"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{slug(name)}-{self.width}.png"), full_page=True)
        self.checked.append(name)


def screenshot(page: Any, name: str, width: int) -> Path:
    """The visible part of the page only (a phone's screen), for the README."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{slug(name)}-{width}-screen.png"
    page.screenshot(path=str(path))
    return path


@contextmanager
def checked_page(browser: Any, storybank: Any, width: int, name: str) -> Iterator[tuple[Any, PageChecks, Steps]]:
    """A page in a fresh browser context at this width, every page it reaches checked, every step recorded;
    the test fails on any error the pages raised."""
    steps = Steps(browser, storybank, name)
    checks = PageChecks(width)
    context = browser.new_context(viewport={"width": width, "height": 844 if width < 800 else 900})
    context.set_default_timeout(10_000)
    page = checks.watch(steps.watch(context.new_page()))
    yield page, checks, steps
    context.close()
    assert not steps.page_errors, steps.page_errors
