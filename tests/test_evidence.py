"""Consent evidence that matches its method and is real, walked through the form and the import as people use them.

A written or easy-read consent is evidenced by a signed form uploaded for this story; verbal
consent by a moment inside this story's recording. Nothing else lets a story out of the team.
"""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

from conftest import SIGNED_FORM, story_form
from stories.cli import cli
from stories.demo import stand_in_form
from stories.sqlite import sqlite3


def public_titles(instance) -> list[str]:
    if not instance.published_path("public").exists():
        return []  # nothing has been published yet
    with sqlite3.connect(instance.published_path("public")) as conn:
        return [row[0] for row in conn.execute("SELECT title FROM stories")]


def import_file(instance, path):
    return CliRunner().invoke(
        cli, ["import", str(path), "--organisation", "befriending-network", "--instance", str(instance.root)]
    )


def post_story(client, form):
    return client.post("/stories/new", data=form, content_type="multipart/form-data")


def with_upload(form, content=SIGNED_FORM, name="signed.pdf"):
    form["evidence_upload"] = (io.BytesIO(content), name)
    return form


def test_a_written_consent_with_a_time_but_no_form_is_sent_back_and_never_published(client, auth, instance):
    auth.login("reviewer")
    response = post_story(client, story_form(method="written", evidence_time="0:00", identity_level="named"))
    if response.status_code == 302:  # what happened before: saved, and one sign-off from the public file
        client.post(f"{response.headers['Location']}/approve")
    assert public_titles(instance) == []
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "upload the signed form" in text
    assert 'value="Someone to ring on a Tuesday"' in text and "After my husband died" in text  # nothing typed is lost


def test_verbal_consent_on_a_typed_story_has_no_recording_to_point_into(client, auth, instance):
    auth.login("reviewer")
    response = post_story(client, story_form(method="verbal_recording", evidence_time="0:42", identity_level="named"))
    if response.status_code == 302:
        client.post(f"{response.headers['Location']}/approve")
    assert public_titles(instance) == []
    assert response.status_code == 422
    assert "this story has no recording" in response.get_data(as_text=True)


def test_a_signed_form_uploaded_with_the_story_lets_it_out_once_signed_off(client, auth, instance):
    auth.login("reviewer")
    response = post_story(client, with_upload(story_form(method="written", evidence_time="", identity_level="named")))
    assert response.status_code == 302, response.get_data(as_text=True)
    client.post(f"{response.headers['Location']}/names", data={"name-Priya": "keep"})
    client.post(f"{response.headers['Location']}/approve")
    assert public_titles(instance) == ["Someone to ring on a Tuesday"]


@pytest.mark.parametrize("who", ["worker", "worker_b"])
def test_another_storys_form_cannot_be_claimed_by_naming_its_stored_file(client, auth, instance, who):
    auth.login("worker")
    first = post_story(client, with_upload(story_form(method="written", evidence_time="", title="The first story")))
    story_page = client.get(f"{first.headers['Location']}/consent").get_data(as_text=True)
    stored = story_page.split('name="evidence_file" value="')[1].split('"')[0]
    auth.logout()
    auth.login(who)  # the same worker on a new story, or another organisation's worker
    form = story_form(method="written", evidence_time="", title="Borrowed evidence", evidence_file=stored)
    response = post_story(client, form)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "please upload it again" in text and 'value="Borrowed evidence"' in text


@pytest.mark.parametrize("time", ["inf", "1e400", "nan", "-inf"])
def test_an_impossible_time_is_refused_with_a_message_not_stored(client, auth, db, time):
    auth.login("worker")
    response = post_story(client, story_form(method="verbal_recording", evidence_time=time))
    assert response.status_code == 422
    assert "for example 1:23" in response.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM stories").fetchone()[0] == 0


def test_a_story_already_holding_an_infinite_time_still_opens(client, auth, db, orgs, users):
    """Instances that saved `inf` before it was refused: their pages must open, and the story must not publish."""
    from stories.records import get_story, publication_decisions, record_story

    story_id = record_story(db, story_form(method="written", evidence_time=""), organisation_id=orgs["a"], actor="t")
    db.execute(
        "INSERT INTO consent_events (story_id, kind, recorded_at, recorded_by, given_by, age_band, witness, method,"
        " info_sheet_version, audiences, identity_level, special_category, given_on, review_on, evidence_time)"
        " SELECT story_id, 'amended', recorded_at, recorded_by, given_by, age_band, witness, 'verbal_recording',"
        " info_sheet_version, audiences, identity_level, special_category, given_on, review_on, ?"
        " FROM consent_events WHERE story_id = ?",
        [float("inf"), story_id],
    )
    auth.login("worker")
    assert client.get(f"/stories/{story_id}").status_code == 200
    assert client.get(f"/stories/{story_id}/consent").status_code == 200
    decision = publication_decisions(get_story(db, story_id), names_resolved=True)["public"]
    assert not decision and "evidence" in decision.reason


def test_an_import_cannot_claim_verbal_consent_without_a_recording(instance, orgs, tmp_path):
    path = tmp_path / "stories.jsonl"
    path.write_text(json.dumps(story_form(method="verbal_recording", evidence_time="0:42")) + "\n")
    result = import_file(instance, path)
    assert result.exit_code == 1, result.output
    assert "row 1, evidence_time:" in result.output and "no recording" in result.output
    assert "Nothing was changed" in result.output


def test_an_import_cannot_name_a_stored_form_it_did_not_bring(client, auth, instance, orgs, tmp_path):
    auth.login("worker")
    first = post_story(client, with_upload(story_form(method="written", evidence_time="")))
    stored = client.get(f"{first.headers['Location']}/consent").get_data(as_text=True)
    stored = stored.split('name="evidence_file" value="')[1].split('"')[0]
    path = tmp_path / "stories.jsonl"
    path.write_text(json.dumps(story_form(method="written", evidence_time="", title="Imported", evidence_file=stored)) + "\n")
    result = import_file(instance, path)
    assert result.exit_code == 1, result.output
    assert "row 1, evidence_file:" in result.output


@pytest.mark.whisper  # the recording is transcribed as it is saved
def test_a_moment_in_the_recording_is_no_evidence_of_a_written_consent(client, auth, db):
    from audio import tone

    auth.login("worker")
    form = story_form(body="")
    form["recording"] = (io.BytesIO(tone()), "story.wav")
    story_id = int(post_story(client, form).headers["Location"].rsplit("/", 1)[1])
    response = client.post(f"/stories/{story_id}/transcript/consent-time", data={"time": "1.0"}, follow_redirects=True)
    assert "evidence only of verbal consent" in response.get_data(as_text=True)
    assert get_consent(db, story_id).evidence_time is None


@pytest.mark.whisper  # the recording is transcribed as it is saved
def test_replacing_the_recording_takes_the_verbal_evidence_with_it(client, auth, db, users):
    from audio import tone

    from stories.recordings import add_recording
    from stories.records import approve_story, get_story, publication_decisions

    auth.login("worker")
    form = story_form(body="", method="verbal_recording", evidence_time="0:01", identity_level="named")
    form["recording"] = (io.BytesIO(tone()), "story.wav")
    story_id = int(post_story(client, form).headers["Location"].rsplit("/", 1)[1])
    db.execute("UPDATE stories SET text_reviewed = 1 WHERE id = ?", [story_id])  # as if its transcript were reviewed
    approve_story(db, story_id, actor="t", user_id=users["reviewer"])
    assert publication_decisions(get_story(db, story_id), names_resolved=True)["public"]
    add_recording(db, story_id, audio_file="f" * 64 + ".wav", duration=60.0, codec="pcm_s16le", actor="t")
    decision = publication_decisions(get_story(db, story_id), names_resolved=True)["public"]
    assert not decision and "a recording this story no longer has" in decision.reason


def test_terms_from_before_the_upgrade_keep_their_recording_when_the_time_falls_inside_it(tmp_path):
    """m008 names the recording of verbal consents already stored, so they keep publishing, and gives stories uids."""
    from unittest import mock

    from stories import migrations
    from stories.db import connect

    db = connect(tmp_path / "before.db")
    with mock.patch.object(migrations, "MIGRATIONS", [m for m in migrations.MIGRATIONS if not m[0].startswith("m008_")]):
        migrations.migrate(db)
    db.execute("INSERT INTO organisations (id, slug, name, created_at) VALUES (1, 'o', 'O', 'now')")
    db.execute(
        "INSERT INTO storytellers (id, organisation_id, reference, pseudonym_seed, created_at) VALUES (1, 1, 'R', 's', 'now')"
    )
    for story_id in (1, 2):
        db.execute(
            "INSERT INTO stories (id, organisation_id, storyteller_id, title, body, told_on, created_at, updated_at)"
            " VALUES (?, 1, 1, 't', 'b', '2026-01-01', 'now', 'now')",
            [story_id],
        )
        db.execute(
            "INSERT INTO recordings (story_id, audio_file, duration, codec, uploaded_by, uploaded_at)"
            " VALUES (?, ?, 30, 'opus', 't', 'now')",
            [story_id, f"{story_id}.webm"],
        )
    for story_id, seconds in ((1, 12.0), (2, 42.0)):  # inside the 30 s recording, and past its end
        db.execute(
            "INSERT INTO consent_events (story_id, kind, recorded_at, recorded_by, method, evidence_time)"
            " VALUES (?, 'given', 'now', 't', 'verbal_recording', ?)",
            [story_id, seconds],
        )
    migrations.migrate(db)
    named = dict(db.execute("SELECT story_id, evidence_recording FROM consent_events"))
    assert named == {1: "1.webm", 2: None}
    assert len({uid for (uid,) in db.execute("SELECT uid FROM stories")} - {None}) == 2
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE consent_events SET evidence_time = 0")


def get_consent(db, story_id):
    from stories.records import get_story

    return get_story(db, story_id).consent


# --- a signed form is one storyteller's, and a readable document (issue 12, items 4b-4d, 5e) ---------


def stored_form(client, story_id: int) -> str:
    page = client.get(f"/stories/{story_id}/consent").get_data(as_text=True)
    return page.split('name="evidence_file" value="')[1].split('"')[0]


def story_id_from(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_the_same_scan_cannot_be_another_storytellers_signed_form(client, auth, instance):
    """4b: the bytes of X's form uploaded for Y (another storyteller) made both publish on one file."""
    auth.login("worker")
    x = story_id_from(post_story(client, with_upload(story_form(title="X's story"))))
    response = post_story(client, with_upload(story_form(title="Y's story", storyteller_reference="BF-0077")))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "already on file as another storyteller" in text and 'value="Y&#39;s story"' in text  # nothing typed is lost
    assert 'name="evidence_file"' not in text  # the refused form is not kept as "already attached"

    # One storyteller's form may cover another of their stories (uploaded again with it).
    x2 = story_id_from(post_story(client, with_upload(story_form(title="X's second story"))))
    assert stored_form(client, x2) == stored_form(client, x)


def test_changing_consent_cannot_borrow_another_storytellers_form(client, auth, instance):
    auth.login("worker")
    story_id_from(post_story(client, with_upload(story_form(title="X's story"))))
    own = stand_in_form("The consent form BF-0077 signed")
    y = story_id_from(post_story(client, with_upload(story_form(title="Y's story", storyteller_reference="BF-0077"), own)))
    change = with_upload(story_form(kind="amended", evidence_file=stored_form(client, y)))
    response = client.post(f"/stories/{y}/consent", data=change, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "already on file as another storyteller" in response.get_data(as_text=True)
    assert stored_form(client, y) == stored_form(client, y)  # Y keeps its own


def test_an_import_cannot_bring_another_storys_form_from_the_instance_or_a_copy(client, auth, instance, orgs, tmp_path):
    """4c: evidence_path naming instance/evidence/<X's form>, or a copy of it, made imported stories 'signed'."""
    auth.login("worker")
    x = story_id_from(post_story(client, with_upload(story_form(title="X's story"))))
    on_file = instance.evidence_dir / stored_form(client, x)
    (tmp_path / "copy.pdf").write_bytes(on_file.read_bytes())
    rows = [
        story_form(title="Imported 1", storyteller_reference="IMP-1", evidence_path=str(on_file)),
        story_form(title="Imported 2", storyteller_reference="IMP-2", evidence_path="copy.pdf"),
    ]
    path = tmp_path / "stories.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = import_file(instance, path)
    assert result.exit_code == 1, result.output
    assert "row 1, evidence_file: This signed form is already on file as another storyteller" in result.output
    assert "row 2, evidence_file: This signed form is already on file as another storyteller" in result.output
    assert "Imported" not in client.get("/stories/").get_data(as_text=True)


def test_two_rows_of_one_import_cannot_share_a_form_across_storytellers(instance, orgs, tmp_path):
    (tmp_path / "form.pdf").write_bytes(stand_in_form("One storyteller's form"))
    rows = [story_form(title=f"Row {n}", storyteller_reference=f"IMP-{n}", evidence_path="form.pdf") for n in (1, 2)]
    path = tmp_path / "stories.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = import_file(instance, path)
    assert result.exit_code == 1 and "row 2, evidence_file:" in result.output, result.output
    same = [story_form(title=f"Row {n}", storyteller_reference="IMP-1", evidence_path="form.pdf") for n in (1, 2)]
    path.write_text("".join(json.dumps(row) + "\n" for row in same))
    result = import_file(instance, path)  # one storyteller's form for two of their stories
    assert result.exit_code == 0, result.output


def picture(width: int, height: int, *, marks: int = 0, kind: str = "PNG") -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for n in range(marks):  # lines of "writing"
        draw.line((20, 30 + 12 * n, width - 20, 30 + 12 * n), fill="black", width=2)
    out = io.BytesIO()
    image.save(out, kind)
    return out.getvalue()


@pytest.mark.parametrize(
    "content, name, expected",
    [
        (picture(4, 4), "form.png", "4 × 4 pixels: too small to read a form in"),  # the attacker's blank 4x4 PNG
        (picture(1240, 1754), "form.png", "one colour throughout"),  # a blank A4 page at 150 dpi
        (picture(1240, 1754, kind="JPEG"), "form.jpg", "one colour throughout"),
        (b"%PDF-1.4\n% no pages at all\n%%EOF\n", "form.pdf", "could not be read"),
        (stand_in_form("x").replace(b"/Count 1", b"/Count 0").replace(b"/Kids [3 0 R]", b"/Kids []"), "f.pdf", "no pages"),
    ],
    ids=["blank 4x4 png", "blank a4 png", "blank a4 jpeg", "pdf of nothing", "pdf with no pages"],
)
def test_a_signed_form_must_be_a_readable_document(client, auth, db, content, name, expected):
    """4d: a blank 4x4 white PNG was accepted as 'the signed form'."""
    auth.login("worker")
    response = post_story(client, with_upload(story_form(), content, name))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert expected in text and "After my husband died" in text
    assert db.execute("SELECT count(*) FROM stories").fetchone()[0] == 0


@pytest.mark.parametrize(
    "content, name", [(picture(1240, 1754, marks=40), "form.png"), (SIGNED_FORM, "form.pdf")], ids=["scan", "pdf"]
)
def test_a_scanned_page_or_a_one_page_pdf_is_accepted(client, auth, content, name):
    auth.login("worker")
    assert post_story(client, with_upload(story_form(), content, name)).status_code == 302


def test_erasing_a_story_takes_its_form_away_and_check_no_trace_agrees(client, auth, instance):
    """5e: X's form stayed in evidence/ after X's erasure because Y used it; now Y never could."""
    auth.login("worker")
    x = story_id_from(post_story(client, with_upload(story_form(title="X's story"))))
    form = stored_form(client, x)
    assert post_story(client, with_upload(story_form(title="Y's story", storyteller_reference="BF-0077"))).status_code == 422
    response = client.post(f"/stories/{x}/withdraw", data={"scope": "erase", "reason": "Storyteller asked"})
    assert response.status_code == 302
    assert not (instance.evidence_dir / form).exists()
    result = CliRunner().invoke(cli, ["check-no-trace", "Margaret Holt", "--instance", str(instance.root)])
    assert result.exit_code == 0, result.output


# --- the same document in other bytes (issue 12, second round, C) ---------------------------------------------


def _resaved_pdf(pdf: bytes) -> bytes:
    """Read and written again by another program: new layout and object numbers, compressed, new metadata."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.add_metadata({"/Producer": "Another scanner"})
    for page in writer.pages:
        page.compress_content_streams()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _updated_pdf(pdf: bytes) -> bytes:
    """An incremental update appended after the end: new metadata naming someone else, every old byte kept."""
    from pypdf import PdfWriter

    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    writer.add_metadata({"/Title": "Consent of Kevin Pritchard"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _png_with_note(png: bytes) -> bytes:
    from PIL import Image, PngImagePlugin

    note = PngImagePlugin.PngInfo()
    note.add_text("Comment", "scanned again")
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).save(out, "PNG", pnginfo=note, compress_level=1)
    return out.getvalue()


def _as_lossless_webp(png: bytes) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.open(io.BytesIO(png)).save(out, "WEBP", lossless=True)
    return out.getvalue()


def _jpeg_with_exif(jpeg: bytes) -> bytes:
    """The same JPEG (not re-encoded) with a camera's EXIF segment put in after its start."""
    orientation = b"\x12\x01\x03\x00\x01\x00\x00\x00\x01\x00\x00\x00"  # tag 0x0112: upright
    exif = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00" + orientation + b"\x00\x00\x00\x00"
    return jpeg[:2] + b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif + jpeg[2:]


OLIVES_FORM = stand_in_form("The consent form Olive Jones signed on 3 March")
OLIVES_SCAN = picture(620, 880, marks=30)
OLIVES_PHOTO = picture(620, 880, marks=31, kind="JPEG")
BORROWED = {
    "pdf + bytes after its end": (OLIVES_FORM, OLIVES_FORM + b"\n%x\n", "form.pdf"),
    "pdf + one byte": (OLIVES_FORM, OLIVES_FORM + b"\x01", "form.pdf"),
    "pdf written again": (OLIVES_FORM, _resaved_pdf(OLIVES_FORM), "form.pdf"),
    "pdf with an incremental update": (OLIVES_FORM, _updated_pdf(OLIVES_FORM), "form.pdf"),
    "png + bytes after its end": (OLIVES_SCAN, OLIVES_SCAN + b"\x00" * 7, "scan.png"),
    "png saved again with a note": (OLIVES_SCAN, _png_with_note(OLIVES_SCAN), "scan.png"),
    "png as lossless webp": (OLIVES_SCAN, _as_lossless_webp(OLIVES_SCAN), "scan.webp"),
    "jpeg with exif": (OLIVES_PHOTO, _jpeg_with_exif(OLIVES_PHOTO), "photo.jpg"),
}


@pytest.mark.parametrize("original, borrowed, name", BORROWED.values(), ids=BORROWED.keys())
def test_a_signed_form_with_its_bytes_changed_is_still_the_first_storytellers(client, auth, original, borrowed, name):
    # Found from outside: Olive's PDF plus b"\n%x\n" was taken as another storyteller's signed form.
    auth.login("worker")
    olive = story_form(title="Olive's story", storyteller_reference="AT-0030", storyteller_names="Olive Jones")
    story_id_from(post_story(client, with_upload(olive, original, name)))
    other = story_form(title="Another story", storyteller_reference="AT-0031", storyteller_names="Olive Jones")
    response = post_story(client, with_upload(other, borrowed, name))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "already on file as another storyteller" in text and 'value="Another story"' in text  # nothing typed is lost
    # Olive's own form, in its other bytes, still covers another story of hers.
    again = story_form(title="Olive's second story", storyteller_reference="AT-0030", storyteller_names="Olive Jones")
    story_id_from(post_story(client, with_upload(again, borrowed, name)))


def test_another_storytellers_own_form_is_taken_however_alike(client, auth):
    auth.login("worker")
    forms = [
        (stand_in_form("The consent form Olive Jones signed on 3 March"), "form.pdf"),
        (picture(620, 880, marks=30), "scan.png"),
    ]
    for n, (content, name) in enumerate(forms):
        olive = story_form(title=f"Olive {n}", storyteller_reference="AT-0030", storyteller_names="Olive Jones")
        story_id_from(post_story(client, with_upload(olive, content, name)))
    kevins = [
        (stand_in_form("The consent form Kevin Pritchard signed on 3 March"), "form.pdf"),
        (picture(620, 880, marks=29), "scan.png"),  # one line of writing fewer
    ]
    for n, (content, name) in enumerate(kevins):
        kevin = story_form(title=f"Kevin {n}", storyteller_reference="AT-0031", storyteller_names="Kevin Pritchard")
        story_id_from(post_story(client, with_upload(kevin, content, name)))


def test_a_reference_given_with_someone_elses_names_cannot_take_the_form_on_file(client, auth):
    # Found from outside: AT-0030 recorded again with "Kevin Pritchard" reused Olive's signed form.
    auth.login("worker")
    olive = story_form(title="Olive's story", storyteller_reference="AT-0030", storyteller_names="Olive Jones")
    story_id_from(post_story(client, with_upload(olive, OLIVES_FORM)))
    kevin = story_form(title="Kevin's story", storyteller_reference="AT-0030", storyteller_names="Kevin Pritchard")
    response = post_story(client, with_upload(kevin, OLIVES_FORM + b"\n"))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "under other names, none of them these" in text and 'value="Kevin&#39;s story"' in text
    # The same person under a name they took since (marriage), or written another way, is still them.
    for names in ("Olive Smith; Olive Jones", "JONES, Olive", "Mrs O. Jones"):
        same = story_form(title=f"Olive as {names}", storyteller_reference="AT-0030", storyteller_names=names)
        story_id_from(post_story(client, with_upload(same, OLIVES_FORM)))
    # Kevin's story with the form Kevin signed is recorded: the reference is the worker's to correct.
    story_id_from(post_story(client, with_upload(kevin, stand_in_form("The consent form Kevin Pritchard signed"))))


def test_an_import_cannot_bring_a_copy_of_a_form_on_file_with_a_byte_added(client, auth, instance, orgs, tmp_path):
    # Found from outside: a copy of evidence/<sha>.pdf with b"\x01" appended was imported as another storyteller's form.
    auth.login("worker")
    x = story_id_from(post_story(client, with_upload(story_form(title="X's story"))))
    (tmp_path / "copy.pdf").write_bytes((instance.evidence_dir / stored_form(client, x)).read_bytes() + b"\x01")
    path = tmp_path / "stories.jsonl"
    row = story_form(
        title="Imported", storyteller_reference="IMP-1", storyteller_names="Kevin Pritchard", evidence_path="copy.pdf"
    )
    path.write_text(json.dumps(row) + "\n")
    result = import_file(instance, path)
    assert result.exit_code == 1, result.output
    assert "row 1, evidence_file: This signed form is already on file as another storyteller" in result.output


@pytest.mark.parametrize("release", ["before fingerprints", "with one fingerprint a form"])
def test_forms_stored_by_an_earlier_release_are_known_by_what_they_show(instance, db, orgs, release):
    """m017e_ fingerprints the forms already on file as they are read now, so a changed copy of one is refused after
    the upgrade too: a copy with bytes added, and the picture wrapped in a PDF (unknown to the earlier fingerprint)."""
    from stories.evidence import keep_form, store_evidence
    from stories.records import record_story
    from stories.stored_files import EVIDENCE, register_upload
    from stories.validation import Invalid

    for n, form in enumerate((OLIVES_FORM, OLIVES_PAGE)):
        name = store_evidence(instance.evidence_dir, form)  # stored as before: no fingerprint
        register_upload(db, EVIDENCE, name, "t")
        olive = story_form(title=f"Olive {n}", storyteller_reference="AT-0030", storyteller_names="Olive Jones")
        record_story(db, {**olive, "evidence_file": name}, organisation_id=orgs["a"], actor="t")
    db.execute("DROP TABLE form_fingerprints")  # the store as an earlier release left it
    if release == "with one fingerprint a form":
        db.execute("CREATE TABLE form_fingerprints (file TEXT PRIMARY KEY, fingerprint TEXT NOT NULL)")
        db.execute("INSERT INTO form_fingerprints VALUES (?, 'pixels:as-read-before')", [name])
    else:
        db.execute("DELETE FROM _migrations WHERE name = 'm015e_form_fingerprints'")
    db.execute("DELETE FROM _migrations WHERE name = 'm017e_form_fingerprint_sets'")
    upgraded = instance.open()
    try:
        for n, copy in enumerate((OLIVES_FORM + b"\n%x\n", _as_pdf(OLIVES_PAGE))):
            kept = keep_form(upgraded, instance.evidence_dir, copy, "t")
            kevin = story_form(title=f"Kevin {n}", storyteller_reference="AT-0031", storyteller_names="Kevin Pritchard")
            with pytest.raises(Invalid, match="already on file as another storyteller"):
                record_story(upgraded, {**kevin, "evidence_file": kept}, organisation_id=orgs["a"], actor="t")
    finally:
        upgraded.close()


# --- the same picture turned, framed, greyed, enlarged or put in a PDF (issue 12, third round, C1 C2) ----------


def _as_pdf(png: bytes, **options) -> bytes:
    """What a scanner app (or Pillow) makes of a picture: a PDF page showing it, the picture compressed again as JPEG."""
    from PIL import Image

    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(out, "PDF", **options)
    return out.getvalue()


def _changed(png: bytes, change) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    change(Image.open(io.BytesIO(png)).convert("RGB")).save(out, "PNG")
    return out.getvalue()


def _framed(picture, pixels: int = 10):
    from PIL import ImageOps

    return ImageOps.expand(picture, border=pixels, fill="white")


def _form_picture(name: str, colour: str = "navy") -> bytes:
    """A filled-in form: a template's lines of print and boxes, the person's name and a signature in ink."""
    from PIL import Image, ImageDraw

    page = Image.new("RGB", (620, 880), "white")
    draw = ImageDraw.Draw(page)
    for line in range(20):
        draw.line((40, 60 + 30 * line, 500, 60 + 30 * line), fill="black", width=1)
        draw.rectangle((540, 52 + 30 * line, 560, 68 + 30 * line), outline="black")
    draw.text((60, 700), f"Name: {name}", fill=colour)
    draw.line((60, 760, 60 + 11 * len(name), 790), fill=colour, width=3)  # a signature, as long as the name
    out = io.BytesIO()
    page.save(out, "PNG")
    return out.getvalue()


OLIVES_PAGE = _form_picture("Olive Jones")
SAME_PICTURE = {
    "png, then wrapped in a pdf": (OLIVES_PAGE, _as_pdf(OLIVES_PAGE), "inpdf.pdf"),
    "png, then wrapped in a pdf at 300 dpi": (OLIVES_PAGE, _as_pdf(OLIVES_PAGE, resolution=300), "inpdf.pdf"),
    "pdf, then the png it was made from": (_as_pdf(OLIVES_PAGE), OLIVES_PAGE, "formB.png"),
    "turned 90 degrees": (OLIVES_PAGE, _changed(OLIVES_PAGE, lambda p: p.rotate(90, expand=True)), "scan.png"),
    "mirrored": (OLIVES_PAGE, _changed(OLIVES_PAGE, lambda p: p.transpose(0)), "scan.png"),
    "greyscale": (OLIVES_PAGE, _changed(OLIVES_PAGE, lambda p: p.convert("L")), "scan.png"),
    "with a 10 px white border": (OLIVES_PAGE, _changed(OLIVES_PAGE, _framed), "scan.png"),
    "upscaled 2x nearest": (OLIVES_PAGE, _changed(OLIVES_PAGE, lambda p: p.resize((1240, 1760), 0)), "scan.png"),
    "turned, greyed, framed and enlarged": (
        OLIVES_PAGE,
        _changed(OLIVES_PAGE, lambda p: _framed(p.rotate(270, expand=True).convert("L").resize((1760, 1240), 0), 7)),
        "scan.png",
    ),
}


@pytest.mark.parametrize("original, borrowed, name", SAME_PICTURE.values(), ids=SAME_PICTURE.keys())
def test_the_same_picture_turned_or_in_a_pdf_is_still_the_first_storytellers(client, auth, original, borrowed, name):
    # Found from outside: Olive's form as a PNG, then the same picture in a PDF, turned, mirrored, greyed,
    # framed or enlarged, was taken as Kevin Pritchard's signed form.
    auth.login("worker")
    first = "inpdf.pdf" if original.startswith(b"%PDF") else "formB.png"
    olive = story_form(title="Olive's story", storyteller_reference="OJ-1", storyteller_names="Olive Jones")
    story_id_from(post_story(client, with_upload(olive, original, first)))
    kevin = story_form(title="Kevin's story", storyteller_reference="KP-9", storyteller_names="Kevin Pritchard")
    response = post_story(client, with_upload(kevin, borrowed, name))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "already on file as another storyteller" in text and 'value="Kevin&#39;s story"' in text  # nothing typed is lost
    # Olive's own form, however it was saved, still covers another story of hers.
    again = story_form(title="Olive's second story", storyteller_reference="OJ-1", storyteller_names="Olive Jones")
    story_id_from(post_story(client, with_upload(again, borrowed, name)))


def test_an_import_cannot_bring_a_form_on_file_wrapped_in_a_pdf(client, auth, instance, tmp_path):
    auth.login("worker")
    olive = story_form(title="Olive's story", storyteller_reference="OJ-1", storyteller_names="Olive Jones")
    story_id_from(post_story(client, with_upload(olive, OLIVES_PAGE, "formB.png")))
    (tmp_path / "inpdf.pdf").write_bytes(_as_pdf(OLIVES_PAGE, resolution=300))
    row = story_form(
        title="Imported", storyteller_reference="KP-9", storyteller_names="Kevin Pritchard", evidence_path="inpdf.pdf"
    )
    path = tmp_path / "stories.jsonl"
    path.write_text(json.dumps(row) + "\n")
    result = import_file(instance, path)
    assert result.exit_code == 1, result.output
    assert "row 1, evidence_file: This signed form is already on file as another storyteller" in result.output


def _template_pdf_filled_in(name: str) -> bytes:
    """One form template drawn as a full-page picture, with a person's name typed over it (a form filler's PDF)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ContentStream, DictionaryObject, NameObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_as_pdf(_form_picture("")))))
    page = writer.pages[0]
    font = {"/Type": "/Font", "/Subtype": "/Type1", "/BaseFont": "/Helvetica"}
    fonts = {NameObject("/F1"): DictionaryObject({NameObject(k): NameObject(v) for k, v in font.items()})}
    page[NameObject("/Resources")][NameObject("/Font")] = DictionaryObject(fonts)
    contents = ContentStream(page.get_contents(), writer)
    contents.set_data(contents.get_data() + f"\nBT /F1 12 Tf 60 120 Td ({name}) Tj ET\n".encode())
    page[NameObject("/Contents")] = writer._add_object(contents)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_two_people_filling_in_one_pictured_template_have_two_forms(client, auth):
    """A page is a picture only when nothing else shows on it: typed over a template's picture, it is that person's."""
    auth.login("worker")
    for reference, person in (("OJ-1", "Olive Jones"), ("KP-9", "Kevin Pritchard")):
        form = story_form(title=f"{person}'s story", storyteller_reference=reference, storyteller_names=person)
        story_id_from(post_story(client, with_upload(form, _template_pdf_filled_in(person), "form.pdf")))
    # And two people's pictures differing only in their names and signatures stay two forms, turned or not.
    olive = story_form(title="Olive again", storyteller_reference="OJ-1", storyteller_names="Olive Jones")
    story_id_from(post_story(client, with_upload(olive, OLIVES_PAGE, "scan.png")))
    kevins = _changed(_form_picture("Kevin Pritchard"), lambda p: p.rotate(90, expand=True))
    kevin = story_form(title="Kevin again", storyteller_reference="KP-9", storyteller_names="Kevin Pritchard")
    story_id_from(post_story(client, with_upload(kevin, kevins, "scan.png")))
