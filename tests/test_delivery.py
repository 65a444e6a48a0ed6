"""What each contract promised, and what the published stories show: entered, imported, published, and read back."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3

import pytest

from conftest import add_tag, datasette_get, sign_off, story_form, verify_today
from pipelines.publish import run_publish
from stories.commitments import add_commitment, list_commitments
from stories.datasette_plugin import make_datasette
from stories.interventions import add_intervention
from stories.records import record_story
from stories.services.consent import withdraw_story
from stories.spreadsheet import csv_text

SHARED = ["team", "commissioners"]
PUBLIC = ["team", "commissioners", "board", "public"]  # the board too: its words may go in a board pack
LONELY = "Fewer older people feel lonely most of the time"
ACTIVE = "More people take part in activities in their community"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def contract(instance, db, orgs, users, signed_form):
    """LCC-7 (befriending and a lunch club) promised less loneliness in 2024 and more activity; GRANT-2 promised nothing."""

    def intervention(name, ref):
        return add_intervention(
            db, {"name": name, "contract_ref": ref, "commissioner": "Leeds City Council"}, provider_id=orgs["a"], actor="t"
        )

    made = {"befriending": intervention("Telephone befriending", "LCC-7"), "lunch": intervention("Lunch club", "LCC-7")}
    made["clinic"] = intervention("Money clinic", "GRANT-2")
    made["lonely"] = add_commitment(
        db,
        made["befriending"],
        {
            "outcome": LONELY,
            "domains": ["relationships"],
            "contribution": "inherent",
            "period_from": "2024-01-01",
            "period_to": "2024-12-31",
            "for_whom": "People over 65 living alone",
        },
        actor="t",
    )
    made["active"] = add_commitment(
        db, made["befriending"], {"outcome": ACTIVE, "domains": "What we do", "contribution": "additional"}, actor="t"
    )
    stories = [
        (
            "Open one",
            "befriending",
            "2024-01-15",
            True,
            PUBLIC,
            [("relationships", "improved", "I have someone to talk to now.")],
        ),
        (
            "Shared two",
            "befriending",
            "2024-03-10",
            True,
            SHARED,
            [("relationships", "improved", "I have a friend now, I think.")],
        ),
        (
            "Worse three",
            "befriending",
            "2024-05-10",
            True,
            SHARED,
            [("relationships", "mixed", "I still miss my sister every day.")],
        ),
        (
            "Not verified",
            "befriending",
            "2024-03-20",
            False,
            SHARED,
            [("relationships", "improved", "My words not yet checked.")],
        ),
        (
            "Too late",
            "befriending",
            "2025-02-01",
            True,
            SHARED,
            [("relationships", "improved", "I made friends at last this year.")],
        ),
        ("Sleep", "befriending", "2024-04-01", True, SHARED, [("health", "improved", "I sleep much better than I did.")]),
        (
            "Team only",
            "befriending",
            "2024-02-20",
            True,
            ["team"],
            [("relationships", "improved", "Words only my team may read.")],
        ),
    ]
    for title, where, told_on, verified, audiences, tags in stories:
        form = story_form(
            title=title,
            identity_level="named",
            told_on=told_on,
            audiences=audiences,
            interventions=[str(made[where])],
            evidence_file=signed_form(),
        )
        story_id = record_story(db, form, organisation_id=orgs["a"], actor="t", user_id=users["worker"])
        for domain, direction, words in tags:
            add_tag(db, story_id, domain, direction, evidence=words)
        sign_off(db, story_id, users["reviewer"])
        if verified:
            verify_today(db, story_id, users["reviewer"])
        made[title] = story_id
    run_publish(instance)
    return made


@pytest.fixture
def commissioner(client, auth):
    auth.login("commissioner")
    return client


def published_commitments(instance, cookie: dict[str, str] | None = None, audience: str = "commissioners") -> dict[str, dict]:
    """The commitments table as Datasette serves it from the real published file."""
    response = datasette_get(make_datasette(instance), f"/{audience}/commitments.json?_shape=objects", cookie)
    assert response.status_code == 200, response.text
    return {row["outcome"]: row for row in response.json()["rows"]}


def page_counts(html: str) -> dict[str, str]:
    """Each promise's heading and what the page says of its evidence."""
    said = {}
    for article in re.findall(r'<article class="promise.*?</article>', html, re.S):
        heading = text_of(re.search(r"<h3.*?</h3>", article, re.S).group(0)).strip()
        count = re.search(r"Evidenced by (\d+) verified stor(?:y|ies) ?: ([^.]*)\.", text_of(article))
        said[heading] = f"{count.group(1)}: {count.group(2)}" if count else ("none" if "No evidence yet." in article else "?")
    return said


def test_a_commissioner_sees_each_promise_beside_its_evidence_and_what_nobody_promised(commissioner, contract):
    page = commissioner.get("/delivery/?contract=LCC-7").text
    words = text_of(page)
    assert "What LCC-7 promised, and what the stories show" in words
    assert page_counts(page) == {LONELY: "3: 2 improved, 1 mixed", ACTIVE: "none"}
    assert "No consented, verified story tells of this change under Telephone befriending" in words  # flagged plainly
    assert "I have someone to talk to now." in words  # the storyteller's words
    assert "Words only my team may read." not in page and "My words not yet checked." not in page
    unpromised = words[words.index("What changed that nobody promised") :]
    # Health was never promised; relationships told of in 2025 fall outside the 2024 promise.
    assert "Health 1 verified story: 1 improved." in unpromised
    assert "Our relationships 1 verified story: 1 improved." in unpromised
    assert "£" not in page


def test_the_page_counts_what_the_published_file_served_by_datasette_counts(instance, client, commissioner, contract):
    page = page_counts(commissioner.get("/delivery/?contract=LCC-7").text)
    cookie = {"storybank_session": client.get_cookie("storybank_session").value}
    served = published_commitments(instance, cookie)
    for outcome, row in served.items():
        directions = ", ".join(f"{row[d]} {d}" for d in ("improved", "worsened", "mixed", "mentioned") if row[d])
        assert page[outcome] == (f"{row['stories']}: {directions}" if row["stories"] else "none")
    assert served[ACTIVE]["evidence"] == "No evidence yet"
    question = datasette_get(
        make_datasette(instance), "/commissioners/contract_promises.json?_shape=objects&commitment_contract=LCC-7", cookie
    )
    rows = question.json()["rows"]
    assert [(r["what"], r["promise"], r["shown"]) for r in rows] == [
        ("Promised", LONELY, "3 verified stories: 2 improved, 1 mixed"),
        ("Promised", ACTIVE, "No evidence yet"),
        ("Not promised", "Nobody promised a change in Health", "1 verified story: 1 improved"),
        ("Not promised", "Nobody promised a change in Our relationships", "1 verified story: 1 improved"),
    ]


def test_the_question_reads_as_a_question_with_a_list_and_no_sql(instance, client, commissioner, contract):
    cookie = {"storybank_session": client.get_cookie("storybank_session").value}
    page = datasette_get(make_datasette(instance), "/commissioners/contract_promises?commitment_contract=LCC-7", cookie).text
    assert "What did this contract promise, and what do the stories show?" in page
    assert '<option value="LCC-7" selected>' in page or re.search(r'<option value="LCC-7"[^>]*selected', page)
    assert "from commitments" not in page and "<textarea" not in page


def test_the_public_file_counts_only_the_stories_published_to_everyone(instance, contract):
    served = published_commitments(instance, audience="public")
    assert served[LONELY]["stories"] == 1 and served[LONELY]["improved"] == 1
    assert served[ACTIVE]["stories"] == 0


def test_withdrawing_a_story_takes_its_evidence_out_of_the_view_and_the_file(instance, client, commissioner, contract):
    withdraw_story(instance, contract["Shared two"], actor="t", reason="changed their mind")
    page = commissioner.get("/delivery/?contract=LCC-7").text
    assert page_counts(page)[LONELY] == "2: 1 improved, 1 mixed"
    assert "I have a friend now, I think." not in page
    cookie = {"storybank_session": client.get_cookie("storybank_session").value}
    assert published_commitments(instance, cookie)[LONELY]["stories"] == 2


def test_the_view_is_for_commissioners_not_workers(client, auth, contract):
    auth.login("worker")
    assert client.get("/delivery/").status_code == 403


def test_a_worker_enters_a_promise_on_the_interventions_page_and_a_mistake_keeps_what_was_typed(client, auth, db, contract):
    auth.login("worker")
    url = f"/interventions/{contract['lunch']}/commitments/"
    typed = {"outcome": "People eat a hot meal together each week", "contribution": "additional", "period_from": "2024-13-01"}
    response = client.post(url, data=typed)
    assert response.status_code == 422
    assert "Choose at least one outcome domain" in response.text
    assert "is not a date" in response.text
    assert "People eat a hot meal together each week" in response.text  # nothing typed is lost
    response = client.post(url, data={**typed, "period_from": "2024-01-01", "domains": ["health", "relationships"]})
    assert response.status_code == 302
    saved = list_commitments(db, contract["lunch"])
    assert [(c["outcome"], c["domains"], c["period_from"]) for c in saved] == [
        ("People eat a hot meal together each week", ["health", "relationships"], "2024-01-01")
    ]
    assert "People eat a hot meal together each week" in client.get(url).text


def test_another_organisation_cannot_see_or_change_an_interventions_promises(client, auth, contract):
    auth.login("worker_b")
    assert client.get(f"/interventions/{contract['befriending']}/commitments/").status_code == 404


def test_a_csv_import_names_every_problem_by_row_and_saves_nothing_until_all_are_right(instance, db, orgs, contract, tmp_path):
    from click.testing import CliRunner

    from stories.cli import cli

    path = tmp_path / "promises.csv"
    path.write_text(
        "intervention,outcome,domains,contribution,period_from,period_to,for_whom\n"
        "Lunch club,People eat well,Health,additional,2024-01-01,2024-12-31,Members\n"
        "No such service,Something,Health,inherent,,,\n"
        "GRANT-2,Debts are managed,money,core,,,\n",
        encoding="utf-8",
    )
    before = len(list_commitments(db))
    result = CliRunner().invoke(
        cli, ["commitments", "import", str(path), "--organisation", "befriending-network", "--instance", str(instance.root)]
    )
    assert result.exit_code == 1, result.output
    assert "Nothing was changed" in result.output
    assert "row 3, intervention: None of your organisation's interventions is called 'No such service'." in result.output
    assert "row 4, domains: No outcome domain called 'money'" in result.output
    assert "row 4, contribution: Inherent or additional must be one of inherent, additional (got 'core')." in result.output
    assert len(list_commitments(db)) == before
    path.write_text(
        "intervention,outcome,domains,contribution,period_from,period_to,for_whom\n"
        "Lunch club,People eat well,Health,additional,2024-01-01,2024-12-31,Members\n"
        "GRANT-2,Debts are managed,Personal finance; what_we_do,inherent,,,\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli, ["commitments", "import", str(path), "--organisation", "befriending-network", "--instance", str(instance.root)]
    )
    assert result.exit_code == 0, result.output
    assert "Imported 2 commitments" in result.output
    imported = {c["outcome"]: c for c in list_commitments(db)}
    assert imported["Debts are managed"]["domains"] == ["personal_finance", "what_we_do"]
    assert imported["People eat well"]["intervention"] == "Lunch club"


def test_a_file_built_before_commitments_were_published_is_still_copied_on_withdrawal(instance, contract):
    # A withdrawal's copy recounts through the same hook: a file without the table must not fail it.
    path = instance.published_path("commissioners")
    with sqlite3.connect(path) as conn:
        conn.execute("DROP VIEW commitment_evidence")
        conn.execute("DROP VIEW unpromised_outcomes")
        conn.execute("DROP TABLE commitments")
    withdraw_story(instance, contract["Open one"], actor="t", reason="changed their mind")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM stories WHERE title = 'Open one'").fetchone()[0] == 0


def pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(content)).pages)


def board_exports(db) -> list[tuple[int, str, str]]:
    return [(row["story_id"], row["kind"], row["audience"]) for row in db.query("SELECT * FROM exports ORDER BY id")]


def test_a_presenter_exports_the_delivery_view_as_a_pdf_with_a_case_study_quoting_only_board_consented_words(
    client, auth, db, contract
):
    auth.login("presenter")
    builder = client.get("/delivery/board-pack?contract=LCC-7").text
    assert "I have someone to talk to now." in builder  # consented for the board
    assert "I have a friend now, I think." not in builder  # shared with commissioners only: counted, never quoted
    started = client.post(f"/case-studies/stories/{contract['Open one']}", data={"title": "Someone to talk to"})
    case_study_id = started.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    response = client.post("/delivery/board-pack", data={"contract": "LCC-7", "case_studies": [case_study_id]})
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert response.headers["Cache-Control"] == "no-store"
    text = pdf_text(response.data)
    assert "What LCC-7 promised, and what the stories show" in text
    assert "Evidenced by 3 verified stories: 2 improved, 1 mixed." in text  # the same counts as the file
    assert "No evidence yet." in text
    assert "I have someone to talk to now." in text and "I have a friend now, I think." not in text
    assert "Someone to talk to" in text  # the case study follows the section
    assert "£" not in text
    assert board_exports(db) == [(contract["Open one"], "board_pack", "board")]


def test_a_board_pack_whose_case_study_the_board_may_no_longer_read_exports_nothing(client, auth, db, contract):
    from stories.records import change_consent, get_story

    auth.login("presenter")
    started = client.post(f"/case-studies/stories/{contract['Open one']}", data={"title": "Someone to talk to"})
    case_study_id = started.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    form = get_story(db, contract["Open one"]).consent.evidence_file
    narrower = story_form(audiences=["team", "commissioners"], evidence_file=form, identity_level="named")
    change_consent(db, contract["Open one"], "amended", narrower, actor="t")
    response = client.post("/delivery/board-pack", data={"contract": "LCC-7", "case_studies": [case_study_id]})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).text
    assert "Nothing was exported" in page and "consent does not include board case studies" in page
    assert board_exports(db) == []
    assert "I have someone to talk to now." not in page  # nor quoted in the section any more


def test_only_presenters_make_board_packs(client, auth, contract):
    auth.login("commissioner")
    assert client.get("/delivery/board-pack").status_code == 403


def run_cli(instance, *args: str):
    from click.testing import CliRunner

    from stories.cli import cli

    return CliRunner().invoke(cli, [*args, "--instance", str(instance.root)])


THREESIXTY = {
    "grants": [
        {
            "id": "360G-lottery-0047",
            "title": "Friday groups",
            "description": "Fewer people in west Leeds feel alone",
            "amountAwarded": 250000,
            "plannedDates": [{"startDate": "2025-01-01T00:00:00Z", "endDate": "2027-12-31"}],
            "beneficiaryLocation": [{"name": "Armley"}, {"name": "Bramley"}],
        },
        {"id": "360G-someone-else", "description": "Not one of ours"},
    ]
}
OCDS = {
    "releases": [
        {
            "ocid": "ocds-b5fd17-000123",
            "tender": {"description": "Telephone befriending for older adults"},
            "contracts": [
                {
                    "period": {"startDate": "2024-04-01T00:00:00Z", "endDate": "2028-03-31T23:59:59Z"},
                    "value": {"amount": 90000, "currency": "GBP"},
                    "implementation": {
                        "milestones": [
                            {"title": "Loneliness", "description": "Fewer older people feel lonely"},
                            {"title": "Health worries noticed sooner"},
                        ]
                    },
                }
            ],
        }
    ]
}


def test_a_csv_import_of_more_promises_than_any_contract_makes_is_refused_whole(instance, db, contract, tmp_path):
    from click.testing import CliRunner

    from stories.cli import cli

    path = tmp_path / "promises.csv"
    row = "Lunch club,People eat well,Health,additional,2024-01-01,2024-12-31,Members\n"
    path.write_text("intervention,outcome,domains,contribution,period_from,period_to,for_whom\n" + row * 1001, encoding="utf-8")
    before = len(list_commitments(db))
    result = CliRunner().invoke(
        cli, ["commitments", "import", str(path), "--organisation", "befriending-network", "--instance", str(instance.root)]
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "more than 1,000 commitments" in result.output and "split it" in result.output
    assert len(list_commitments(db)) == before
    path.write_text("intervention,outcome,domains,contribution,period_from,period_to,for_whom\n" + row * 1000, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["commitments", "import", str(path), "--organisation", "befriending-network", "--instance", str(instance.root)]
    )
    assert result.exit_code == 0 and "Imported 1000 commitments" in result.output, result.output


@pytest.mark.parametrize(
    ("filename", "content", "ref", "expected"),
    [
        (
            "grants.json",
            json.dumps(THREESIXTY),
            "360G-lottery-0047",
            [
                [
                    "Friday groups",
                    "Fewer people in west Leeds feel alone",
                    "",
                    "",
                    "2025-01-01",
                    "2027-12-31",
                    "People in Armley, Bramley",
                ]
            ],
        ),
        (
            "grants.csv",
            "Identifier,Title,Description,Amount Awarded,Planned Dates:Start Date,Planned Dates:End Date,"
            "Beneficiary Location:Name\n"
            "360G-lottery-0047,Friday groups,Fewer people in west Leeds feel alone,250000,2025-01-01,2027-12-31,Armley\n",
            "360G-lottery-0047",
            [["Friday groups", "Fewer people in west Leeds feel alone", "", "", "2025-01-01", "2027-12-31", "People in Armley"]],
        ),
        (
            "release.json",
            json.dumps(OCDS),
            "ocds-b5fd17-000123",
            [
                ["Friday groups", "Fewer older people feel lonely", "", "", "2024-04-01", "2028-03-31", ""],
                ["Friday groups", "Health worries noticed sooner", "", "", "2024-04-01", "2028-03-31", ""],
            ],
        ),
    ],
    ids=["360giving-json", "360giving-csv", "ocds-release"],
)
def test_drafts_are_read_from_a_standard_file_matched_by_reference_and_imported_once_a_person_maps_them(
    instance, db, orgs, tmp_path, filename, content, ref, expected
):
    add_intervention(db, {"name": "Friday groups", "contract_ref": ref}, provider_id=orgs["a"], actor="t")
    source, drafts = tmp_path / filename, tmp_path / "drafts.csv"
    source.write_text(content, encoding="utf-8")
    result = run_cli(instance, "commitments", "draft", str(source), "--organisation", "befriending-network", "--out", str(drafts))
    assert result.exit_code == 0, result.output
    assert f"{len(expected)} draft commitments" in result.output
    rows = list(csv.reader(io.StringIO(drafts.read_text(encoding="utf-8"))))
    assert rows == [["intervention", "outcome", "domains", "contribution", "period_from", "period_to", "for_whom"], *expected]
    assert "90000" not in drafts.read_text() and "250000" not in drafts.read_text()  # no money read
    refused = run_cli(instance, "commitments", "import", str(drafts), "--organisation", "befriending-network")
    assert refused.exit_code == 1 and "row 2, domains: Choose at least one outcome domain" in refused.output
    rows[1][2:4] = ["Our relationships", "inherent"]
    for row in rows[2:]:
        row[2:4] = ["Health", "additional"]
    drafts.write_text(csv_text(rows), encoding="utf-8")
    imported = run_cli(instance, "commitments", "import", str(drafts), "--organisation", "befriending-network")
    assert imported.exit_code == 0, imported.output
    assert [c["outcome"] for c in list_commitments(db)] == [row[1] for row in expected]


def test_a_standard_file_names_the_references_no_intervention_has(instance, db, orgs, tmp_path):
    source = tmp_path / "grants.json"
    source.write_text(json.dumps(THREESIXTY), encoding="utf-8")
    result = run_cli(
        instance, "commitments", "draft", str(source), "--organisation", "befriending-network", "--out", str(tmp_path / "d.csv")
    )
    assert "0 draft commitments" in result.output
    assert "(left out): 360G-lottery-0047, 360G-someone-else" in result.output
    source.write_text('{"something": "else"}', encoding="utf-8")
    result = run_cli(
        instance, "commitments", "draft", str(source), "--organisation", "befriending-network", "--out", str(tmp_path / "d.csv")
    )
    assert result.exit_code == 1 and "neither a 360Giving file" in result.output


def test_choosing_a_period_shows_that_periods_promises_and_what_nobody_promised_in_it(instance, db, commissioner, contract):
    later = "Friendships made in 2025 last"
    add_commitment(
        db,
        contract["befriending"],
        {
            "outcome": later,
            "domains": "relationships",
            "contribution": "inherent",
            "period_from": "2025-01-01",
            "period_to": "2025-12-31",
        },
        actor="t",
    )
    run_publish(instance)
    page = commissioner.get("/delivery/?contract=LCC-7&period=2025-01-01..2025-12-31").text
    assert page_counts(page) == {later: "1: 1 improved"}  # the 2025 story, once unpromised, now evidences it
    unpromised = text_of(page)[text_of(page).index("What changed that nobody promised") :]
    assert "Every outcome people reported under this contract is one it promised." in unpromised  # none told in 2025
    everything = page_counts(commissioner.get("/delivery/?contract=LCC-7").text)
    assert set(everything) == {LONELY, ACTIVE, later}


def test_a_promise_is_corrected_and_removed_on_the_interventions_page(client, auth, db, contract):
    auth.login("worker")
    base = f"/interventions/{contract['befriending']}/commitments"
    edit = client.get(f"{base}/{contract['active']}/edit")
    assert ACTIVE in edit.text
    corrected = {"outcome": ACTIVE + " each month", "domains": ["what_we_do"], "contribution": "additional"}
    assert client.post(f"{base}/{contract['active']}/edit", data=corrected).status_code == 302
    assert {c["outcome"] for c in list_commitments(db, contract["befriending"])} == {LONELY, ACTIVE + " each month"}
    assert client.post(f"{base}/{contract['active']}/delete").status_code == 302
    assert [c["outcome"] for c in list_commitments(db, contract["befriending"])] == [LONELY]
    assert client.post(f"/interventions/{contract['lunch']}/commitments/{contract['lonely']}/delete").status_code == 404


def test_a_withdrawals_copy_of_the_file_recounts_the_promises_before_any_rebuild(instance, client, commissioner, contract):
    from pipelines.publish import remove_from_published

    remove_from_published(instance, [contract["Shared two"], contract["Open one"]], actor="t")  # the fast path alone
    cookie = {"storybank_session": client.get_cookie("storybank_session").value}
    served = published_commitments(instance, cookie)
    assert (served[LONELY]["stories"], served[LONELY]["improved"], served[LONELY]["mixed"]) == (1, 0, 1)
    assert page_counts(commissioner.get("/delivery/?contract=LCC-7").text)[LONELY] == "1: 1 mixed"


def test_a_contract_not_in_the_file_is_said_not_shown_as_if_it_were(commissioner, contract):
    words = text_of(commissioner.get("/delivery/?contract=LCC-99").text)
    assert "The commissioners' file has no contract or grant “LCC-99” with promises or stories. Showing LCC-7" in words


def test_a_panels_most_significant_change_choice_is_shown_beside_the_promise_it_evidences(
    instance, db, orgs, users, client, commissioner, contract
):
    from stories import msc

    round_id = msc.create_round(
        db, {"title": "Spring panel", "domain": "relationships"}, organisation_id=orgs["a"], user_id=users["reviewer"], actor="t"
    )
    msc.shortlist(db, msc.get_round(db, round_id, orgs["a"]), contract["Shared two"], actor="t")
    reason = "It shows a friendship that lasts"
    msc.choose(
        db, msc.get_round(db, round_id, orgs["a"]), {"story_id": contract["Shared two"], "reason": reason}, user_id=1, actor="t"
    )
    sign_off(db, contract["Shared two"], users["reviewer"])  # the panel's words are published text: signed off again
    run_publish(instance)
    page = commissioner.get("/delivery/?contract=LCC-7").text
    lonely = text_of(re.search(r'<article class="promise".*?</article>', page, re.S).group(0))
    assert "Chosen as the most significant change" in lonely and reason in lonely and "Shared two" in lonely
    cookie = {"storybank_session": client.get_cookie("storybank_session").value}
    assert published_commitments(instance, cookie)[LONELY]["chosen_as_most_significant"] == 1


@pytest.mark.parametrize(
    ("command", "name", "content"),
    [
        ("import", "big.csv", 'intervention,outcome,domains,contribution\nLunch club,"' + "x" * 200_000 + '",health,inherent\n'),
        ("draft", "nested.json", "[" * 100_000 + "]" * 100_000),
        ("draft", "grants.csv", 'Identifier,Title,Description\n360G-x-1,"' + "x" * 300_000 + '",d\n'),
    ],
    ids=["import a 200,000-character cell", "draft from JSON nested 100,000 deep", "draft from a 300,000-character cell"],
)
def test_a_hostile_file_gets_a_message_not_a_traceback(instance, contract, tmp_path, command, name, content):
    """Attack 5: each of these ended in a traceback (_csv.Error: field larger than field limit; RecursionError)."""
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    extra = ["--out", str(tmp_path / "drafts.csv")] if command == "draft" else []
    result = run_cli(instance, "commitments", command, str(path), "--organisation", "befriending-network", *extra)
    assert result.exit_code in (0, 1), (result.exit_code, result.output[-500:])
    assert isinstance(result.exception, SystemExit | type(None)), repr(result.exception)
    assert "Traceback" not in result.output
