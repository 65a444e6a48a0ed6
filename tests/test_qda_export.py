"""Evidence for evaluators: the commissioners' stories as a REFI-QDA project (.qdpx) and the codebook alone (.qdc).

Every file is validated against the REFI-QDA 1.5 schemas (tests/data/refi-qda/) and read back as an
evaluator's tool would: the text of each source from its file, each coded segment as text[start:end].
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from conftest import add_tag, story_form
from stories import auth
from stories.interventions import add_intervention
from stories.records import approve_story, decide_name, get_story, record_story
from stories.services import exports as export_service
from stories.withdrawal import withdraw

SCHEMAS = Path(__file__).parent / "data" / "refi-qda"
NS = {"p": "urn:QDA-XML:project:1.0", "c": "urn:QDA-XML:codebook:1.0"}
BODY = (
    "My name is Margaret Holt. After my husband died I did not speak to anyone for weeks. 😔 "
    "Now Priya rings every Tuesday and I go to the lunch club. I feel like myself again."
)
LUNCH_CLUB = "Now Priya rings every Tuesday and I go to the lunch club."
HIDDEN = ("Margaret", "Holt", "Maggie", "Priya")


@pytest.fixture(scope="module")
def project_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "Project-mrt2019.xsd")))


@pytest.fixture(scope="module")
def codebook_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "Codebook-mrt2019.xsd")))


@pytest.fixture
def published_story(db, orgs, users, signed_form):
    """An anonymous story signed off for commissioners, with confirmed outcome tags on its own words."""

    def make(*, body: str = BODY, title: str = "Someone to ring on a Tuesday", tags=None, **fields) -> int:
        form = story_form(evidence_file=signed_form("test"), body=body, title=title, **fields)
        story_id = record_story(db, form, organisation_id=orgs["a"], actor="test")
        decide_name(db, story_id, "Priya", "redact", placeholder="my befriender", actor="test")
        for domain, direction, words in tags if tags is not None else [("relationships", "improved", LUNCH_CLUB)]:
            start = body.index(words)
            add_tag(db, story_id, domain, direction, evidence=words, start=start, end=start + len(words))
        approve_story(db, story_id, actor="test", user_id=users["reviewer"])
        return story_id

    return make


def user(db, username: str) -> auth.User:
    return next(u for u in auth.list_users(db) if u.username == username)


def export(instance, db, username: str = "commissioner", **kwargs) -> export_service.Download:
    return export_service.export_evaluation_project(instance, db, by=user(db, username), **kwargs)


def opened(content: bytes, schema: etree.XMLSchema) -> tuple[etree._Element, dict[str, str]]:
    """The project.qde, checked against the schema, and each internal source's text by its file name."""
    with zipfile.ZipFile(io.BytesIO(content)) as zipped:
        assert zipped.testzip() is None
        qde = etree.fromstring(zipped.read("project.qde"))
        texts = {
            name.removeprefix("sources/"): zipped.read(name).decode("utf-8")
            for name in zipped.namelist()
            if name != "project.qde"
        }
    schema.assertValid(qde)
    return qde, texts


def codes_by_guid(root: etree._Element, prefix: str = "p") -> dict[str, list[str]]:
    """Each code's path of names from the top of the codebook."""
    paths = {}

    def walk(element, path):
        for code in element.findall(f"{prefix}:Code", NS):
            paths[code.get("guid")] = [*path, code.get("name")]
            walk(code, paths[code.get("guid")])

    walk(root.find(f".//{prefix}:Codes", NS), [])
    return paths


def segments(qde: etree._Element, texts: dict[str, str]) -> list[tuple[str, str, list[str]]]:
    """(source name, coded words, code path) for every coded selection, read as an evaluator's tool reads it."""
    codes = codes_by_guid(qde)
    found = []
    for source in qde.iterfind(".//p:TextSource", NS):
        text = texts[source.get("plainTextPath").removeprefix("internal://")]
        for selection in source.iterfind("p:PlainTextSelection", NS):
            words = text[int(selection.get("startPosition")) : int(selection.get("endPosition"))]
            for ref in selection.iterfind("p:Coding/p:CodeRef", NS):
                found.append((source.get("name"), words, codes[ref.get("targetGUID")]))
    return found


def variables(qde: etree._Element, source: etree._Element) -> dict[str, str]:
    names = {v.get("guid"): v.get("name") for v in qde.iterfind(".//p:Variables/p:Variable", NS)}
    return {
        names[value.find("p:VariableRef", NS).get("targetGUID")]: value[1].text
        for value in source.iterfind("p:VariableValue", NS)
    }


def test_the_project_validates_and_codes_each_confirmed_outcome_on_its_published_words(
    instance, db, published_story, project_schema
):
    story_id = published_story(
        tags=[("relationships", "improved", LUNCH_CLUB), ("personal_wellbeing", "improved", "I feel like myself again.")]
    )
    download = export(instance, db)
    qde, texts = opened(download.content, project_schema)
    (text,) = texts.values()
    assert not any(name in text for name in HIDDEN), "the source is the text commissioners read, at its identity level"
    assert "[my befriender]" in text and "😔" in text
    assert segments(qde, texts) == [
        (
            f"Story {story_id}: Someone to ring on a Tuesday",
            "Now [my befriender] rings every Tuesday and I go to the lunch club.",
            ["ONS Measures of National Well-being", "Our relationships", "Our relationships › improved"],
        ),
        (
            f"Story {story_id}: Someone to ring on a Tuesday",
            "I feel like myself again.",
            ["ONS Measures of National Well-being", "Personal well-being", "Personal well-being › improved"],
        ),
    ]
    assert (download.stories, download.codings) == (1, 2)


def test_positions_count_code_points_as_refi_qda_defines_them(instance, db, published_story, project_schema):
    """An emoji is one code point but two UTF-16 units and four UTF-8 bytes: only code points put the words back."""
    published_story(
        body="😔😔😔 Margaret says: I go to the lunch club now.",
        tags=[("relationships", "improved", "I go to the lunch club now.")],
    )
    qde, texts = opened(export(instance, db).content, project_schema)
    selection = qde.find(".//p:PlainTextSelection", NS)
    # "😔😔😔 [the storyteller] says: " is 28 code points (31 UTF-16 units, 40 UTF-8 bytes).
    assert (selection.get("startPosition"), selection.get("endPosition")) == ("28", "55")
    assert [words for _, words, _ in segments(qde, texts)] == ["I go to the lunch club now."]


def test_each_story_carries_what_an_evaluator_filters_by_and_no_day(instance, db, orgs, published_story, project_schema):
    befriending = add_intervention(
        db, {"name": "Telephone befriending", "contract_ref": "LCC-7"}, provider_id=orgs["a"], actor="t"
    )
    told = dt.date.today() - dt.timedelta(days=10)
    story_id = published_story(interventions=[str(befriending)], told_on=told.isoformat())
    qde, _ = opened(export(instance, db).content, project_schema)
    assert variables(qde, qde.find(".//p:TextSource", NS)) == {
        "Story": str(story_id),
        "Told (month)": told.isoformat()[:7],
        "Organisation": "Befriending Network",
        "Area": "Leeds",
        "Interventions": "Telephone befriending",
        "Providers": "Befriending Network",
        "Contracts": "LCC-7",
        "Verification": "Not yet verified",
        "Identity level": "Anonymous",
        "Told as": "Written",
    }
    assert told.isoformat() not in etree.tostring(qde, encoding="unicode")


def test_the_codebook_alone_validates_and_matches_the_projects_codes(
    instance, db, published_story, project_schema, codebook_schema
):
    published_story()
    codebook = export_service.evaluation_codebook(instance)
    root = etree.fromstring(codebook.content)
    codebook_schema.assertValid(root)
    in_codebook = codes_by_guid(root, "c")
    ons = "ONS Measures of National Well-being"
    under_relationships = sorted(
        path[2] for path in in_codebook.values() if path[:2] == [ons, "Our relationships"] and len(path) == 3
    )
    assert under_relationships == [f"Our relationships › {d}" for d in ("improved", "mentioned", "mixed", "worsened")]
    assert root.find(".//c:Code", NS).get("isCodable") == "false", "a framework is a heading; its domains are coded"
    qde, _ = opened(export(instance, db).content, project_schema)
    assert codes_by_guid(qde) == in_codebook, "the same codes under the same GUIDs, so an evaluator's tool merges them"
    assert any(path == ["Five Ways to Wellbeing", "Connect"] for path in in_codebook.values())


def test_an_imported_frameworks_control_characters_never_reach_the_xml(instance, db, tmp_path, codebook_schema):
    """Attack 4: a framework CSV whose label held \x01\x1b was imported as it was, and the codebook and project
    were not well-formed XML, so no evaluator's tool could open them."""
    from stories.framework_store import import_framework

    own = tmp_path / "our-outcomes.csv"
    own.write_bytes(b"id,label,description,example phrases\ngrowing,Growing \x01\x1bfood,Food \x07grown,allotment\n")
    framework = import_framework(instance, own)
    assert framework.domain("growing").label == "Growing food" and framework.domain("growing").description == "Food grown"
    root = etree.fromstring(export_service.evaluation_codebook(instance).content)  # was: XMLSyntaxError
    codebook_schema.assertValid(root)
    assert ["our outcomes", "Growing food"] in codes_by_guid(root, "c").values()


def test_every_story_in_it_is_in_the_export_register(instance, db, users, published_story):
    first, second = published_story(title="First"), published_story(title="Second")
    team_only = published_story(title="Team only", audiences=["team"])
    export(instance, db)
    rows = list(db.query("SELECT story_id, user_id, kind, audience, consent_version FROM exports ORDER BY story_id"))
    assert rows == [
        {
            "story_id": story_id,
            "user_id": users["commissioner"],
            "kind": "qdpx",
            "audience": "commissioners",
            "consent_version": get_story(db, story_id).consent.version,
        }
        for story_id in (first, second)
    ]
    assert team_only not in {row["story_id"] for row in rows}
    logged = db.execute("SELECT actor, story_id FROM audit_log WHERE action = 'story.export' ORDER BY story_id").fetchall()
    assert logged == [("user:commissioner", first), ("user:commissioner", second)]


def test_a_withdrawn_story_is_in_no_new_export_and_its_old_copies_are_asked_back(
    instance, db, users, published_story, project_schema
):
    kept, leaving = published_story(title="Kept"), published_story(title="Leaving")
    export(instance, db)
    withdraw(db, leaving, actor="test", reason="Asked by phone")
    qde, _ = opened(export(instance, db).content, project_schema)
    assert [s.get("name") for s in qde.iterfind(".//p:TextSource", NS)] == [f"Story {kept}: Kept"]
    asked = db.execute("SELECT story_id FROM exports WHERE destroy_requested_at IS NOT NULL").fetchall()
    assert asked == [(leaving,)]


def test_copies_the_narrowed_consent_no_longer_allows_are_asked_back(instance, db, published_story):
    """Attack 4: a story amended to leave out commissioners, or to hide the storyteller's first name, left the
    files at once, but the evaluators' copies of it were never asked back."""
    from stories.records import change_consent

    kept_from_commissioners = published_story(title="Team and board only now", identity_level="first_name")
    hidden_name = published_story(title="Anonymous now", identity_level="first_name")
    not_public = published_story(title="Not public now", identity_level="first_name")
    widened = published_story(title="Named now", identity_level="first_name")
    export(instance, db)
    amend = {
        kept_from_commissioners: {"audiences": ["team", "board"], "identity_level": "first_name"},
        hidden_name: {"identity_level": "anonymous"},
        not_public: {"audiences": ["team", "commissioners", "board"], "identity_level": "first_name"},
        widened: {"identity_level": "named"},
    }
    for story_id, terms in amend.items():
        change_consent(db, story_id, "amended", story_form(**terms), actor="test")
    asked = dict(db.execute("SELECT story_id, destroy_requested_at IS NOT NULL FROM exports").fetchall())
    assert asked == {kept_from_commissioners: 1, hidden_name: 1, not_public: 0, widened: 0}


def test_a_story_withdrawn_while_the_file_is_made_is_left_out_and_not_registered(
    instance, db, published_story, project_schema, monkeypatch
):
    kept, leaving = published_story(title="Kept"), published_story(title="Leaving")
    build = export_service.qda_export.project
    made = []

    def withdrawn_meanwhile(*args, **kwargs):
        if not made:  # another request withdraws the story between reading the store and registering the copy
            withdraw(db, leaving, actor="test", reason="Asked by phone")
        made.append(build(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(export_service.qda_export, "project", withdrawn_meanwhile)
    download = export(instance, db)
    qde, _ = opened(download.content, project_schema)
    assert [s.get("name") for s in qde.iterfind(".//p:TextSource", NS)] == [f"Story {kept}: Kept"]
    assert db.execute("SELECT story_id FROM exports").fetchall() == [(kept,)]
    assert len(made) == 2


@pytest.mark.parametrize("role", ["worker", "reviewer", "presenter"])
def test_only_commissioners_and_administrators_may_export_it(instance, db, published_story, role):
    published_story()
    with pytest.raises(export_service.Invalid):
        export(instance, db, role)
    assert db.execute("SELECT count(*) FROM exports").fetchone() == (0,)


def test_an_administrator_may_export_it(instance, db, published_story, project_schema):
    published_story()
    opened(export(instance, db, "admin").content, project_schema)


def test_with_nothing_published_it_says_so_and_registers_nothing(instance, db, published_story):
    published_story(audiences=["team"])
    with pytest.raises(export_service.Invalid) as refused:
        export(instance, db)
    assert refused.value.problems == {"export": "No story is published to commissioners yet, so there is nothing to export."}


def test_characters_xml_cannot_carry_are_left_out_of_the_xml_only(instance, db, published_story, project_schema):
    """A title pasted with a control character must not make the project unreadable; the text keeps every position."""
    body = "I went\x0b to the lunch club. I go every week now."
    published_story(title="Lunch\x01 club", body=body, tags=[("relationships", "improved", "I go every week now.")])
    qde, texts = opened(export(instance, db).content, project_schema)
    assert qde.find(".//p:TextSource", NS).get("name").endswith("Lunch club")
    assert [words for _, words, _ in segments(qde, texts)] == ["I go every week now."]


def test_a_commissioner_downloads_both_from_the_exports_page(client, auth, db, published_story, project_schema, codebook_schema):
    published_story()
    auth.login("commissioner")
    page = client.get("/exports/").get_data(as_text=True)
    assert "Download the evaluation project (.qdpx)" in page and "Download the codebook alone (.qdc)" in page
    response = client.post("/exports/evaluation.qdpx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="storybank-evidence-')
    opened(response.data, project_schema)
    codebook = client.get("/exports/codebook.qdc")
    assert codebook.headers["Content-Disposition"] == 'attachment; filename="storybank-codebook.qdc"'
    codebook_schema.assertValid(etree.fromstring(codebook.data))
    page = client.get("/exports/").get_data(as_text=True)
    assert "Evaluation project (REFI-QDA)" in page, "the copy is listed among the commissioner's exports"


@pytest.mark.parametrize("role", ["worker", "reviewer", "presenter"])
def test_no_one_else_reaches_them_in_the_app(client, auth, published_story, role):
    published_story()
    auth.login(role)
    assert "evaluation project" not in client.get("/exports/").get_data(as_text=True)
    assert client.post("/exports/evaluation.qdpx").status_code == 403
    assert client.get("/exports/codebook.qdc").status_code == 403


def test_with_nothing_published_the_page_says_so(client, auth, published_story):
    published_story(audiences=["team"])
    auth.login("commissioner")
    response = client.post("/exports/evaluation.qdpx", follow_redirects=True)
    assert "No story is published to commissioners yet, so there is nothing to export." in response.get_data(as_text=True)


def test_the_command_writes_both_and_names_who_took_the_copy(instance, db, users, published_story, tmp_path, project_schema):
    from click.testing import CliRunner

    from stories.cli import cli

    story_id = published_story()
    target = tmp_path / "evidence.qdpx"
    result = CliRunner().invoke(
        cli, ["evaluation", "project", str(target), "--by", "commissioner", "--instance", str(instance.root)]
    )
    assert result.exit_code == 0, result.output
    assert "1 stories, 1 coded outcomes" in result.output and "Commissioner" in result.output
    opened(target.read_bytes(), project_schema)
    assert db.execute("SELECT story_id, user_id FROM exports").fetchall() == [(story_id, users["commissioner"])]
    refused = CliRunner().invoke(
        cli, ["evaluation", "project", str(tmp_path / "x.qdpx"), "--by", "worker", "--instance", str(instance.root)]
    )
    assert refused.exit_code == 1 and "Only commissioners and administrators" in refused.output
    assert not (tmp_path / "x.qdpx").exists()
    codebook = CliRunner().invoke(cli, ["evaluation", "codebook", str(tmp_path / "o.qdc"), "--instance", str(instance.root)])
    assert codebook.exit_code == 0 and (tmp_path / "o.qdc").read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>')


def test_a_file_in_a_folder_that_does_not_exist_is_refused_before_any_copy_is_registered(instance, db, published_story, tmp_path):
    """Attack 4: `storybank evaluation project /nonexistent/dir/x.qdpx` printed a traceback after the export
    was already entered in the register, for a copy that never landed."""
    from click.testing import CliRunner

    from stories.cli import cli

    published_story()
    for command in (["project", "--by", "commissioner"], ["codebook"]):
        target = str(tmp_path / "no-such-folder" / "x.qdpx")
        result = CliRunner().invoke(cli, ["evaluation", command[0], target, *command[1:], "--instance", str(instance.root)])
        assert result.exit_code == 2 and "there is no folder" in result.output, result.output
        assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    assert db.execute("SELECT count(*) FROM exports").fetchone()[0] == 0
