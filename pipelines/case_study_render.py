"""A board case study written out as Markdown, a standalone web page or a PDF, and entered in the export register.

One `Document` holds only what the board may read (identity applied, confirmed outcomes, no money);
each format is a plain function of it. WeasyPrint is imported on first PDF, and may read only files
from the local static folder: a board paper never makes a network request.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import jinja2
import sqlite_utils
from markupsafe import Markup

from stories.case_studies import BoardStory, Refused, ready_for_export
from stories.consent import BOARD, LABELS
from stories.exports import record_export
from stories.outcomes import domain_label

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
TEMPLATES = ROOT / "templates"
STYLESHEET = "case_study.css"
FORMATS = {
    "markdown": ("md", "text/markdown; charset=utf-8"),
    "html": ("html", "text/html; charset=utf-8"),
    "pdf": ("pdf", "application/pdf"),
}
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


@dataclasses.dataclass(frozen=True)
class Outcome:
    domain: str
    direction: str
    evidence: str


@dataclasses.dataclass(frozen=True)
class Document:
    title: str
    kind: str  # "Named case study" only at the named identity level
    credit: str
    organisation: str
    told: str
    presenter: str
    context: list[str]
    quotes: list[str]
    story_title: str
    story: list[str]
    outcomes: list[Outcome]
    interventions: list[str]
    consent_note: str
    exported: str


@dataclasses.dataclass(frozen=True)
class Export:
    filename: str
    mimetype: str
    content: bytes


def export_case_study(
    db: sqlite_utils.Database,
    case_study: dict[str, Any],
    board: BoardStory,
    kind: str,
    *,
    user_id: int,
    actor: str,
    exported_by: str,
    today: dt.date,
    static_dir: Path = STATIC,
) -> Export:
    """Check consent again, render, and only then write the register entry; Refused means nothing was exported."""
    if kind not in FORMATS:
        raise Refused(f"Unknown export format {kind!r}: choose Markdown, web page or PDF.")
    quotes = ready_for_export(board, case_study)
    doc = build_document(board, case_study, [q.text for q in quotes], exported_by=exported_by, today=today)
    content = render(doc, kind, static_dir)
    consent = board.story.consent
    record_export(db, board.story.id, user_id=user_id, actor=actor, kind=kind, audience=BOARD, consent_version=consent.version)
    extension, mimetype = FORMATS[kind]
    return Export(f"case-study-{board.story.id}-{today.isoformat()}.{extension}", mimetype, content)


def build_document(
    board: BoardStory, case_study: dict[str, Any], quotes: list[str], *, exported_by: str, today: dt.date
) -> Document:
    story, version, consent = board.story, board.version, board.story.consent
    return Document(
        title=case_study["title"],
        kind=board.kind,
        credit=board.credit,
        organisation=story.organisation,
        told=story.told_on.strftime("%B %Y"),  # the month is enough; the day can help identify someone
        presenter=case_study["created_by_name"],
        context=paragraphs(case_study["context"]),
        quotes=quotes,
        story_title=version.title,
        story=paragraphs(version.body),
        outcomes=[
            Outcome(domain_label(tag["domain"]), tag["direction"], version.evidence(story, tag) or "")
            for tag in story.tags
            if tag["status"] == "confirmed"
        ],
        interventions=[
            item["name"] + (f", commissioned by {item['commissioner']}" if item.get("commissioner") else "")
            for item in story.interventions
        ],
        consent_note=(
            f"Shared with the board with the storyteller's consent (consent record {consent.version}, "
            f"{LABELS[consent.identity_level].lower()}, to be reviewed by {consent.review_on.isoformat()}). "
            "Please do not copy or forward it. If consent is withdrawn you will be asked to destroy this copy."
        ),
        exported=f"Exported from Storybank by {exported_by} on {today.isoformat()}.",
    )


def paragraphs(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"\n\s*\n", text or "") if part.strip()]


def render(doc: Document, kind: str, static_dir: Path = STATIC) -> bytes:
    if kind == "markdown":
        return to_markdown(doc).encode("utf-8")
    page = to_html(doc, (static_dir / STYLESHEET).read_text(encoding="utf-8"))
    return page.encode("utf-8") if kind == "html" else to_pdf(page, static_dir)


def to_markdown(doc: Document) -> str:
    lines = [f"# {md(doc.title)}", "", f"*{doc.kind}* · {md(doc.credit)} · {md(doc.organisation)} · {doc.told}", ""]
    if doc.context:
        lines += [f"## Context, from {md(doc.presenter)}", "", *(line for p in doc.context for line in (md(p), ""))]
    if doc.quotes:
        lines += ["## In their words", ""]
        for quote in doc.quotes:
            lines += [*(f"> {line}" for line in md(f"“{quote}”").splitlines()), ""]
    lines += [f"## The story: {md(doc.story_title)}", "", *(line for p in doc.story for line in (md(p), ""))]
    if doc.outcomes:
        lines += ["## Outcomes", "", *(outcome_line(o) for o in doc.outcomes), ""]
    if doc.interventions:
        lines += ["## Interventions", "", *(f"- {md(item)}" for item in doc.interventions), ""]
    lines += ["---", "", md(doc.consent_note), "", md(doc.exported), ""]
    return "\n".join(lines)


def outcome_line(outcome: Outcome) -> str:
    """An outcome as a Markdown list item, quoting its evidence only where there is some (never an empty “”)."""
    line = f"- **{md(outcome.domain)}** ({outcome.direction})"
    return f"{line}: “{md(outcome.evidence)}”" if outcome.evidence else line


def md(text: str) -> str:
    """Plain text that Markdown shows as written: the storyteller's words must not turn into markup."""
    text = MARKDOWN_SPECIAL.sub(r"\\\1", text)
    text = re.sub(r"^(\s*\d+)([.)])", r"\1\\\2", text, flags=re.MULTILINE)
    return re.sub(r"^(\s*)([-+=])", r"\1\\\2", text, flags=re.MULTILINE)


def to_html(doc: Document, css: str) -> str:
    """A standalone page: the print stylesheet inlined, so the file needs nothing else once downloaded."""
    template = _templates().get_template("case_studies/export.html")
    # The stylesheet is our own file; escaping it would break quoted font names.
    return template.render(doc=doc, css=Markup(css))


def to_pdf(page: str, static_dir: Path = STATIC) -> bytes:
    import weasyprint  # heavy (pango, fonts): loaded only when someone asks for a PDF

    root = static_dir.resolve()

    class LocalOnly(weasyprint.URLFetcher):
        """Reads files under the static folder and refuses everything else, above all the network."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            parts = urlsplit(url)
            if parts.scheme != "file" or not Path(url2pathname(parts.path)).resolve().is_relative_to(root):
                raise ValueError(f"case-study PDFs may not fetch {url[:80]!r}")
            return super().fetch(url, headers)

    fetcher = LocalOnly(allowed_protocols=("file",), allow_redirects=False)
    return weasyprint.HTML(string=page, base_url=str(root) + "/", url_fetcher=fetcher).write_pdf()


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
