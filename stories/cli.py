"""The `storybank` command: a thin shell over the use cases (stories.services) and the domain."""

from __future__ import annotations

import os
import pkgutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import sqlite_utils

from stories.instance import ENV_VAR, Instance, InstanceBusy
from stories.organisations import KINDS as ORGANISATION_KINDS
from stories.roles import Role
from stories.validation import Invalid

# The app's factory lives at the top level (app.py, beside templates/); named, not imported, so that
# the stories package never imports the module that imports it.
APP_FACTORY = "app:create_app"

if TYPE_CHECKING:  # imported where used: the CLI starts without the pipelines
    from stories.services.publishing import CutShortRemovals

instance_option = click.option(
    "--instance",
    "instance_dir",
    envvar=ENV_VAR,
    default="instance",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The instance folder (or STORYBANK_INSTANCE).",
)


def pass_instance(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Give the command an Instance built from --instance."""

    @instance_option
    def wrapper(instance_dir: Path, **kwargs: Any) -> Any:
        return fn(Instance.from_env(instance_dir), **kwargs)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@contextmanager
def store(instance: Instance) -> Iterator[sqlite_utils.Database]:
    """The working store for one command, closed after it; a missing instance is a message, not a traceback."""
    if not instance.exists:
        raise click.ClickException(f"No Storybank instance at {instance.root}: run `storybank init` first.")
    with instance.connection() as db:
        yield db


def require_store(instance: Instance) -> None:
    """Refuse at once without an instance, and bring its store's schema up to date before anything else opens it."""
    with store(instance):
        pass


def hold_while_running(instance: Instance, *, inheritable: bool = False) -> None:
    """A long-running process keeps a shared lock on its instance, so no restore can replace the store under it."""
    from stories.instance import hold_while_running as hold

    try:
        hold(instance, inheritable=inheritable)
    except InstanceBusy as error:
        raise click.ClickException(str(error)) from None


def fail_on_invalid(error: Invalid) -> click.ClickException:
    lines = [f"  {field}: {message}" for field, message in error.problems.items()]
    return click.ClickException("Nothing was changed. Please fix:\n" + "\n".join(lines))


@click.group()
@click.version_option(package_name="storybank")
def cli() -> None:
    """Storybank: consent-tracked stories as evidence of what public services change."""


@cli.command()
@pass_instance
def init(instance: Instance) -> None:
    """Create an instance folder with an empty working store.

    Example: storybank init --instance ./instance
    """
    from stories.services.store import create_instance

    create_instance(instance, actor="cli")
    click.echo(f"Instance ready at {instance.root}")


@cli.command()
@pass_instance
def demo(instance: Instance) -> None:
    """Load demo organisations, users, interventions and stories, then publish.

    Example: storybank demo
    """
    from stories.demo import DEMO_PASSWORD
    from stories.services.recording import load_demo

    added, counts = load_demo(instance)
    click.echo("Demo loaded: " + ", ".join(f"{n} {what}" for what, n in added.items()))
    click.echo("Published: " + ", ".join(f"{n} stories for {audience}" for audience, n in counts.items()))
    click.echo(f"Demo password for every demo user: {DEMO_PASSWORD}")


@cli.group()
def organisations() -> None:
    """Manage organisations."""


@organisations.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice(ORGANISATION_KINDS), default="charity")
@click.option("--area", default="")
@pass_instance
def organisations_add(instance: Instance, name: str, kind: str, area: str) -> None:
    """Add an organisation.

    Example: storybank organisations add "Leeds Befriending Network" --kind charity --area Leeds
    """
    from stories.organisations import ensure_organisation, get_organisation

    with store(instance) as db:
        try:
            org_id = ensure_organisation(db, name, kind=kind, area=area)
        except Invalid as error:
            raise fail_on_invalid(error) from None
        click.echo(f"{get_organisation(db, org_id)['slug']} (id {org_id})")


def _strong_password(ctx: click.Context, _: click.Parameter, password: str) -> str:
    """Refuse a weak password saying why; when it was prompted for, click asks again."""
    from stories.passwords import password_problem

    about = [ctx.params.get(name) or "" for name in ("username", "display_name", "organisation_slug")]
    problem = password_problem(password, about=[*about, _organisation_name(ctx)])
    if problem:
        raise click.BadParameter(problem)
    return password


def _organisation_name(ctx: click.Context) -> str:
    """The organisation's name once its slug and instance are known: its words are first guesses too."""
    from stories.organisations import get_organisation

    slug, folder = ctx.params.get("organisation_slug"), ctx.params.get("instance_dir")
    instance = Instance.from_env(folder) if slug and folder else None
    if instance is None or not instance.exists:
        return ""  # add_user checks again with it
    db = instance.open()
    try:
        organisation = get_organisation(db, slug)
    finally:
        db.close()
    return organisation["name"] if organisation else ""


@cli.group()
def users() -> None:
    """Manage user accounts."""


@users.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option("--organisation", "organisation_slug", required=True, help="Organisation slug.")
@click.option("--name", "display_name", default="", help="Name shown in the app.")
@click.password_option(help="Prompted for (hidden) when not given.", callback=_strong_password)
@pass_instance
def users_add(instance: Instance, username: str, role: str, organisation_slug: str, display_name: str, password: str) -> None:
    """Add a user with a role in an organisation.

    Example: storybank users add asha --role worker --organisation leeds-befriending-network
    """
    from stories import auth
    from stories.organisations import get_organisation

    with store(instance) as db:
        org = get_organisation(db, organisation_slug)
        if org is None:
            raise click.ClickException(f"No organisation {organisation_slug!r}; add it with `storybank organisations add`.")
        try:
            auth.add_user(
                db,
                username=username,
                display_name=display_name,
                password=password,
                role=role,
                organisation_id=org["id"],
                actor="cli",
            )
        except Invalid as error:
            raise fail_on_invalid(error) from None
    click.echo(f"Added {username} ({role}, {org['name']})")


@users.command("list")
@pass_instance
def users_list(instance: Instance) -> None:
    """List user accounts."""
    from stories import auth

    with store(instance) as db:
        accounts = auth.list_users(db)
    for user in accounts:
        click.echo(f"{user.username:20} {user.role.value:12} {user.organisation_name}")


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--organisation", "organisation_slug", required=True, help="Organisation slug the stories belong to.")
@pass_instance
def import_(instance: Instance, file: Path, organisation_slug: str) -> None:
    """Import stories with their consent from a CSV or JSONL file: every row, or none.

    Example: storybank import stories.csv --organisation leeds-befriending-network
    """
    from stories.organisations import get_organisation
    from stories.services.recording import import_stories

    with store(instance) as db:
        org = get_organisation(db, organisation_slug)
        if org is None:
            raise click.ClickException(f"No organisation {organisation_slug!r}.")
        try:
            count = import_stories(instance, db, file, organisation_id=org["id"], actor="cli:import")
        except Invalid as error:
            raise fail_on_invalid(error) from None
    click.echo(f"Imported {count} stories into {org['name']}; they await a reviewer's sign-off.")


@cli.command()
@pass_instance
def publish(instance: Instance) -> None:
    """Rebuild the published files from the working store and print stories per audience.

    Example: storybank publish
    """
    from stories.services.store import publish as publish_now

    require_store(instance)
    for audience, count in publish_now(instance, actor="cli").items():
        click.echo(f"{audience}: {count} stories -> {instance.published_path(audience)}")


@cli.command("withdraw")
@click.argument("story_id", type=int)
@click.option("--erase", "erase_story", is_flag=True, help="Also delete the story and everything recorded from it.")
@click.option("--reason", required=True, help="Why, for the record (never published; not kept after erasure).")
@pass_instance
def withdraw_(instance: Instance, story_id: int, erase_story: bool, reason: str) -> None:
    """Withdraw a story from publication (or erase it) and republish at once.

    Example: storybank withdraw 42 --reason "Storyteller asked by phone"
    """
    from stories.services.consent import withdraw_story

    require_store(instance)
    try:
        counts = withdraw_story(instance, story_id, actor="cli", reason=reason, erase_story=erase_story)
    except Invalid as error:
        raise fail_on_invalid(error) from None
    click.echo(
        f"Story {story_id} {'erased' if erase_story else 'withdrawn'}; republished: "
        + ", ".join(f"{n} stories for {audience}" for audience, n in counts.items())
    )


@cli.command("check-no-trace")
@click.argument("texts", nargs=-1, required=True)
@click.option(
    "--published",
    "published_only",
    is_flag=True,
    help="Scan only the published files (after a withdrawal; the team's own record is kept).",
)
@pass_instance
def check_no_trace(instance: Instance, texts: tuple[str, ...], published_only: bool) -> None:
    """Scan the raw bytes of every file in the instance for TEXTS; exit 1 if any is found.

    A recording or a scanned form cannot be searched for words, so a stored file that no story
    refers to is reported too (and also exits 1). After an erasure, scan everything; after a
    withdrawal from publication, scan --published.
    Example: storybank check-no-trace "Margaret Holt" "allotment"
    """
    from stories.notrace import find_traces, unaccounted_files

    root = instance.published_dir if published_only else instance.root
    hits = find_traces(root, texts)
    for path, text in hits:
        click.echo(f"FOUND {text!r} in {path.relative_to(instance.root)}")
    strays = [] if published_only else unaccounted_files(instance)
    for path, why in strays:
        click.echo(f"UNACCOUNTED {path.relative_to(instance.root)}: {why}; its sound or image cannot be searched for words")
    if hits or strays:
        raise SystemExit(1)
    click.echo(f"No trace of {len(texts)} text(s) in {root}")


@cli.command("backup")
@click.argument("destination", type=click.Path(file_okay=False, path_type=Path))
@pass_instance
def backup_(instance: Instance, destination: Path) -> None:
    """Take a consistent copy of the working store and its files (safe while running).

    Example: storybank backup /mnt/backups/storybank
    """
    from stories.backup import backup

    require_store(instance)
    click.echo(f"Backup written to {backup(instance, destination)}")


@cli.command("restore")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@pass_instance
def restore_(instance: Instance, source: Path) -> None:
    """Restore a backup, re-apply what was changed since that must not be undone, and republish. Stop `serve` first.

    Withdrawals, erasures and narrowed consent made after the backup are applied again; a story
    whose names were decided after it goes back for review. Every session ends. Refused while the
    app, a worker or Datasette runs on the instance.
    Example: storybank restore /mnt/backups/storybank/storybank-20261126T120000Z
    """
    from stories.services.store import restore_backup

    try:
        restored = restore_backup(instance, source, actor="cli:restore")
    except (FileNotFoundError, InstanceBusy) as error:
        raise click.ClickException(str(error)) from None
    redone, counts = restored.redone, restored.published
    click.echo(f"Restored from {source}; re-applied {redone['withdrawn']} withdrawal(s) and {redone['erased']} erasure(s).")
    click.echo(
        f"Consent narrowed again for {_stories(redone['narrowed'])}; {_stories(redone['names'])} back for review"
        " (names decided after the backup must be decided again). Every session has ended: everyone logs in again."
    )
    click.echo("Published: " + ", ".join(f"{n} stories for {audience}" for audience, n in counts.items()))


def _stories(count: int) -> str:
    return f"{count} {'story' if count == 1 else 'stories'}"


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--processes", type=click.IntRange(min=1), help="Processes serving the app (default: one per core).")
@pass_instance
def web(instance: Instance, host: str, port: int, processes: int | None) -> None:
    """Run the Flask app alone (waitress, in a process per core, each with 8 threads)."""
    from stories.web.serving import default_processes, serve

    require_store(instance)
    hold_while_running(instance)
    create_app = pkgutil.resolve_name(APP_FACTORY)
    try:
        serve(lambda: create_app({"INSTANCE": str(instance.root)}), host, port, processes or default_processes(), threads=8)
    except OSError as error:
        raise click.ClickException(f"Could not listen on {host}:{port}: {os.strerror(error.errno or 0)}.") from None


@cli.command()
@click.option("--workers", default=1, show_default=True, help="Jobs run at once by this worker.")
@pass_instance
def worker(instance: Instance, workers: int) -> None:
    """Run a job worker (transcription, tagging, publishing) until stopped."""
    from stories.services.background import run_worker

    require_store(instance)
    hold_while_running(instance)
    run_worker(instance, workers=workers)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True)
@pass_instance
def datasette(instance: Instance, host: str, port: int) -> None:
    """Run Datasette on the published files alone."""
    hold_while_running(instance, inheritable=True)  # Datasette (exec'd next) holds it from here on
    os.execvpe(sys.executable, datasette_command(instance, host, port), {**os.environ, ENV_VAR: str(instance.root)})


def datasette_command(instance: Instance, host: str, port: int) -> list[str]:
    from stories.datasette_plugin import METADATA_FILE, SETTINGS, STATIC_MOUNT, TEMPLATE_DIR

    def as_text(value: bool | int) -> str:
        return ("on" if value else "off") if isinstance(value, bool) else str(value)

    settings = [arg for name, value in SETTINGS.items() for arg in ("--setting", name, as_text(value))]
    return [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        "--host",
        host,
        "--port",
        str(port),
        "--metadata",
        str(METADATA_FILE),
        "--template-dir",
        str(TEMPLATE_DIR),
        "--static",
        f"{STATIC_MOUNT[0]}:{STATIC_MOUNT[1]}",
        *settings,
    ]


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, help="Port of the app.")
@click.option("--datasette-port", default=8001, show_default=True)
@pass_instance
def serve(instance: Instance, host: str, port: int, datasette_port: int) -> None:
    """Start the app, a job worker and Datasette together; restart any that stops; Ctrl-C stops all three.

    Example: storybank serve --port 5000 --datasette-port 8001
    """
    from stories.services.publishing import prepare_to_serve, watch_for_removals_cut_short
    from stories.supervisor import Child, GaveUp, Supervisor

    require_store(instance)
    hold_while_running(instance)  # also between a child's death and its restart
    removals = watch_for_removals_cut_short(instance)  # noted before catching up, so nothing committed meanwhile is missed
    click.echo(prepare_to_serve(instance).message())
    app_url, data_url = f"http://{host}:{port}", f"http://{host}:{datasette_port}"
    env = {**os.environ, ENV_VAR: str(instance.root), "STORYBANK_APP_URL": app_url, "STORYBANK_DATASETTE_URL": data_url}
    me = [sys.executable, "-m", "stories.cli"]  # the instance travels in STORYBANK_INSTANCE
    children = [
        Child("app", [*me, "web", "--host", host, "--port", str(port)], env),
        Child("worker", [*me, "worker"], env),
        Child("datasette", datasette_command(instance, host, datasette_port), env),
    ]
    click.echo(f"\nStorybank is running from {instance.root}")
    click.echo(f"  App (record and review stories):   {app_url}/")
    click.echo(f"  Datasette (published evidence):     {data_url}/")
    click.echo("  Job worker: transcription, tagging and publishing in the background")
    _print_demo_logins(instance)
    click.echo("Press Ctrl-C to stop.\n")
    try:
        Supervisor(
            children,
            say=click.echo,
            after_a_death=lambda: _finish_withdrawals_cut_short(instance),
            watch=_watch_removals(removals),
        ).run()
    except GaveUp as error:
        raise click.ClickException(str(error)) from None


def _finish_withdrawals_cut_short(instance: Instance) -> None:
    """A process killed mid-withdrawal leaves the files holding the story: finish it now, not at the worker's next minute."""
    from stories.services.publishing import finish_withdrawals_cut_short

    try:
        finished = finish_withdrawals_cut_short(instance, actor="system:serve")
    except Exception as error:  # the worker's own catch-up tries again within a minute
        click.echo(f"Could not check for withdrawals cut short ({type(error).__name__}); the worker will, within a minute.")
        return
    if finished:
        click.echo(f"Finished taking {len(finished)} withdrawn stories out of the published files (cut short by the stop).")


def _watch_removals(removals: CutShortRemovals) -> Callable[[], None]:
    """A withdrawal cut short by a process outside serve (a killed `storybank withdraw`), finished within a second."""
    failed = []

    def watch() -> None:
        try:
            finished = removals.finish()
        except Exception as error:  # the worker's own catch-up tries again within a minute
            if not failed:  # said once, not twice a second
                click.echo(f"Could not look for withdrawals cut short ({type(error).__name__}); the worker will, each minute.")
            failed.append(error)
            return
        failed.clear()
        if finished:
            click.echo(
                f"Finished taking {len(finished)} withdrawn stories out of the published files (its withdrawal was cut short)."
            )

    return watch


def _print_demo_logins(instance: Instance) -> None:
    from stories import auth
    from stories.demo import DEMO_PASSWORD, demo_usernames

    wanted = demo_usernames()
    with store(instance) as db:
        demo_users = [user for user in auth.list_users(db) if user.username in wanted]
    if demo_users:
        click.echo(f"  Demo logins (password for each: {DEMO_PASSWORD}):")
        for user in demo_users:
            click.echo(f"    {user.username:18} {user.role.value:12} {user.organisation_name}")


@cli.group()
def frameworks() -> None:
    """Outcome frameworks: the default ONS domains, Five Ways to Wellbeing, and your own."""


@frameworks.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_instance
def frameworks_import(instance: Instance, file: Path) -> None:
    """Check a framework (YAML, or CSV with id, label, description, example phrases) and use it for tagging.

    Example: storybank frameworks import our-outcomes.csv
    """
    from stories.framework_store import import_framework
    from stories.frameworks import FrameworkError

    require_store(instance)
    try:
        framework = import_framework(instance, file)
    except FrameworkError as error:
        raise click.ClickException(f"Nothing was imported. Please fix: {error}") from None
    click.echo(
        f"Imported {framework.name!r} ({framework.id}, version {framework.version}) with {len(framework.domains)} domains."
    )
    click.echo("New stories are tagged with it from now on.")


@frameworks.command("list")
@pass_instance
def frameworks_list(instance: Instance) -> None:
    """List the frameworks stories are tagged with."""
    from stories.framework_store import frameworks_in_use

    for framework in frameworks_in_use(instance):
        click.echo(f"{framework.id:24} {framework.version:14} {len(framework.domains):3} domains  {framework.name}")


@cli.group()
def commitments() -> None:
    """What each contract or grant promised to change (commitments), beside the stories that evidence it."""


@commitments.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--organisation", "organisation_slug", required=True, help="Slug of the organisation providing the interventions.")
@pass_instance
def commitments_import(instance: Instance, file: Path, organisation_slug: str) -> None:
    """Import commitments from a CSV file: every row, or none (each problem is named by its row).

    Columns: intervention (its name, or its contract or grant reference), outcome (the contract's words),
    domains (outcome domains separated by ';', by id or name), contribution (inherent or additional),
    and optionally period_from, period_to (year-month-day) and for_whom.

    Example: storybank commitments import promises.csv --organisation leeds-befriending-network
    """
    from stories.organisations import get_organisation
    from stories.services.commitments import import_commitments

    with store(instance) as db:
        org = get_organisation(db, organisation_slug)
        if org is None:
            raise click.ClickException(f"No organisation {organisation_slug!r}.")
        try:
            count = import_commitments(instance, db, file.read_bytes(), organisation_id=org["id"], actor="cli:commitments")
        except Invalid as error:
            raise fail_on_invalid(error) from None
    click.echo(f"Imported {count} commitments for {org['name']}; the published files show them after the next rebuild.")


@commitments.command("draft")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--organisation", "organisation_slug", required=True, help="Slug of the organisation providing the interventions.")
@click.option("--out", "destination", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path))
@pass_instance
def commitments_draft(instance: Instance, file: Path, organisation_slug: str, destination: Path) -> None:
    """Draft commitments from your copy of a 360Giving (.json, .csv) or OCDS (.json) file; nothing is fetched.

    Each grant or contracting process is matched to your intervention with that grant id or ocid. The
    drafts are written as the import's CSV with domains and contribution left for you to fill in; then
    run `storybank commitments import`. The fields read are listed in stories/commitment_standards.py.

    Example: storybank commitments draft grants.json --organisation aireside-befriending --out promises.csv
    """
    from stories.commitment_standards import drafts_csv, read_drafts
    from stories.interventions import list_interventions
    from stories.organisations import get_organisation

    with store(instance) as db:
        org = get_organisation(db, organisation_slug)
        if org is None:
            raise click.ClickException(f"No organisation {organisation_slug!r}.")
        references = {
            item["contract_ref"]: item["name"]
            for item in list_interventions(db)
            if item["provider_id"] == org["id"] and item["contract_ref"]
        }
    try:
        drafts = read_drafts(file.read_bytes(), file.name)
    except Invalid as error:
        raise fail_on_invalid(error) from None
    content, matched, unmatched = drafts_csv(drafts, references)
    destination.write_text(content, encoding="utf-8")
    click.echo(f"{matched} draft commitments -> {destination}: fill in domains and contribution, then import it.")
    if unmatched:
        click.echo(f"No intervention of {org['name']} has these references (left out): {', '.join(unmatched)}")


@cli.group()
def evaluation() -> None:
    """Evidence for an independent evaluator, in REFI-QDA (NVivo, ATLAS.ti, MAXQDA, QualCoder)."""


def _in_a_folder(_ctx: click.Context, _param: click.Parameter, destination: Path) -> Path:
    """A file to write, checked before anything is exported: a copy that fails to land must not be registered."""
    if not destination.parent.is_dir():
        raise click.BadParameter(f"there is no folder {str(destination.parent)!r} to write it in.")
    return destination


NEW_FILE = click.Path(dir_okay=False, writable=True, path_type=Path)


@evaluation.command("project")
@click.argument("destination", type=NEW_FILE, callback=_in_a_folder)
@click.option("--by", "username", required=True, help="The commissioner or administrator taking the copy (its register entry).")
@pass_instance
def evaluation_project(instance: Instance, destination: Path, username: str) -> None:
    """Write every story published to commissioners, coded by its confirmed outcomes, as a .qdpx project.

    Each story in it is entered in the export register under that person's name.

    Example: storybank evaluation project evidence.qdpx --by alex
    """
    from stories.auth import list_users
    from stories.services.exports import export_evaluation_project

    with store(instance) as db:
        by = next((user for user in list_users(db) if user.username == username and user.active), None)
        if by is None:
            raise click.ClickException(f"There is no active account {username!r}: name the commissioner taking the copy.")
        try:
            download = export_evaluation_project(instance, db, by=by)
        except Invalid as error:
            raise fail_on_invalid(error) from None
    destination.write_bytes(download.content)
    click.echo(
        f"{download.stories} stories, {download.codings} coded outcomes -> {destination}"
        f" (entered in the export register for {by.display_name})"
    )


@evaluation.command("codebook")
@click.argument("destination", type=NEW_FILE, callback=_in_a_folder)
@pass_instance
def evaluation_codebook(instance: Instance, destination: Path) -> None:
    """Write the outcome frameworks in use as a .qdc codebook (no story in it).

    Example: storybank evaluation codebook outcomes.qdc
    """
    from stories.services.exports import evaluation_codebook as codebook

    require_store(instance)
    destination.write_bytes(codebook(instance).content)
    click.echo(f"Codebook -> {destination}")


def _add_tool_commands() -> None:
    """The heavy steps on one file: storybank transcribe, tag, eval-tagger, redact."""
    from stories.cli_tools import COMMANDS

    for command in COMMANDS:
        cli.add_command(command)


_add_tool_commands()

if __name__ == "__main__":
    cli()
