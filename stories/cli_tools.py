"""The heavy steps on one file, for trying them from a terminal: storybank transcribe, tag,
eval-tagger and redact. Each reads a file, calls the same function the app calls, and prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from pipelines.audio import AudioError
from pipelines.tag import evaluate, read_examples, tag_text
from pipelines.transcribe import TranscriptionError, transcribe
from stories.frameworks import Framework, FrameworkError, default_framework, load_framework
from stories.redact import STORYTELLER, RedactionError, redact


@click.command("transcribe")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print text, language, duration, segments and model as JSON.")
def transcribe_command(file: Path, as_json: bool) -> None:
    """Transcribe a recording offline and print the text.

    Example: storybank transcribe visit.m4a --json
    """
    try:
        transcript = transcribe(file)
    except (AudioError, TranscriptionError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(transcript.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(transcript.text)


def _framework_option(value: str | None) -> Framework:
    try:
        return load_framework(value) if value else default_framework()
    except FrameworkError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("tag")
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
@click.option("--json", "as_json", is_flag=True, help="Print suggestions as a JSON list.")
@click.option("--framework", "framework_path", help="Framework YAML/CSV file or name.")
def tag_command(file: Any, as_json: bool, framework_path: str | None) -> None:
    """Suggest wellbeing outcome tags for a story in FILE (or standard input).

    A direction is suggested only where the tagger is measured to be right at least 85% of the
    time on real stories; elsewhere it is null ("What changed?"): the person who heard the story says.

    Example: storybank tag story.txt --framework five-ways
    """
    suggestions = tag_text(file.read(), framework=_framework_option(framework_path))
    if as_json:
        click.echo(json.dumps([s.as_dict() for s in suggestions], indent=2, ensure_ascii=False))
        return
    if not suggestions:
        click.echo("No outcome suggestions.")
    for s in suggestions:
        direction = f"{s.direction} ({s.direction_confidence:.0%} right)" if s.direction else "What changed?"
        click.echo(f"{s.domain:<20} {direction:<22} {s.confidence:.2f}  [{s.start}:{s.end}] {s.rule}")
        click.echo(f"    {s.evidence}")


@click.command("eval-tagger")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--framework", "framework_path", help="Framework YAML/CSV file or name.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
def eval_tagger_command(file: str, framework_path: str | None, as_json: bool) -> None:
    """Score the tagger against human-labelled stories in FILE.jsonl: presence of each domain, and the
    precision and coverage of the directions it suggests.

    Each line: {"text": "...", "labels": {"health": "improved", ...}}.
    Example: storybank eval-tagger tests/data/outcomes_dev.jsonl
    """
    try:
        examples = read_examples(file)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    report = evaluate(examples, _framework_option(framework_path))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"{'domain':<20} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>4}")
    for domain, row in report["per_domain"].items():
        click.echo(f"{domain:<20} {row['precision']:>6.3f} {row['recall']:>6.3f} {row['f1']:>6.3f} {row['support']:>4}")
    micro = report["micro"]
    click.echo(f"{'micro':<20} {micro['precision']:>6.3f} {micro['recall']:>6.3f} {micro['f1']:>6.3f}")
    offered = report["suggested_direction"]
    precision = "none suggested" if offered["precision"] is None else f"{offered['precision']:.3f}"
    click.echo(
        f"suggested directions: precision {precision} ({offered['right']} of {offered['suggested']} right), "
        f"coverage {offered['coverage']:.3f} of {report['direction_pairs']} domains both marked ({report['examples']} stories)"
    )
    click.echo(f"the rules' own reading, not suggested: accuracy {report['direction_accuracy']:.3f}")


@click.command("redact")
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
@click.option("--name", "names", multiple=True, help="The storyteller's full name first, then any aliases; repeatable.")
@click.option(
    "--replacement",
    default=STORYTELLER,
    show_default=True,
    help="What the storyteller's name becomes: a pseudonym or a placeholder.",
)
@click.option("--json", "as_json", is_flag=True, help="Print text, redacted and found as JSON.")
def redact_command(file, names: tuple[str, ...], replacement: str, as_json: bool) -> None:
    """Redact the storyteller's names from a story and list the other names found.

    The text goes to standard output; without --json the names left for the reviewer
    go to standard error.

    Example: storybank redact story.txt --name "Maria Smith" --name Mimi --json
    """
    try:
        result = redact(file.read(), list(names), replacement=replacement)
    except RedactionError as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
        return
    click.echo(result.text, nl=not result.text.endswith("\n"))
    for m in result.found:
        click.echo(f"found: {m.name} ({m.start}-{m.end})", err=True)


COMMANDS = (transcribe_command, tag_command, eval_tagger_command, redact_command)
