"""What each background job does: the glue between the queue, the working store and one pipeline."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stories import job_status
from stories.db import write_transaction
from stories.framework_store import frameworks_in_use
from stories.instance import Instance
from stories.outcome_tags import save_suggestions
from stories.recordings import get_transcript, recording_for, save_transcript
from stories.statements import save_proposals
from stories.stored_files import UNCLAIMED_HOURS, sweep_unclaimed

log = logging.getLogger(__name__)
PROGRESS_STEP = 0.05  # write progress at most every 5%, so the store is not hammered
HEARTBEAT = 10.0  # seconds; well inside job_status.SILENT_AFTER and STALE_AFTER


def run_transcription(instance: Instance, job_id: int) -> None:
    """Transcribe a story's recording into a transcript waiting for a person's review."""
    from pipelines.audio import AudioError
    from pipelines.transcribe import TranscriptionError, transcribe

    with instance.connection() as db:
        job = job_status.claim_job(db, job_id, this_worker())
        if job is None:
            return  # done already, running elsewhere, or its story was erased
        recording = recording_for(db, job["story_id"])
        if recording is None:
            job_status.fail_job(db, job_id, "The recording is missing.")
            return
        reported = [0.0]

        def progress(fraction: float) -> None:
            if fraction - reported[0] >= PROGRESS_STEP:
                reported[0] = fraction
                job_status.report_progress(db, job_id, fraction)

        try:
            with heartbeat(instance, job_id):
                transcript = transcribe(instance.audio_dir / recording["audio_file"], progress=progress)
        except (AudioError, TranscriptionError) as error:
            job_status.fail_job(db, job_id, str(error))
            return
        except Exception:
            log.exception("transcription job %s failed", job_id)
            job_status.fail_job(
                db, job_id, "The transcriber stopped unexpectedly. Try again; if it fails again, tell your administrator."
            )
            return
        with write_transaction(db):
            if not job_status.owns(db, job):
                return  # the story was erased meanwhile, or another worker took the job over
            save_transcript(
                db,
                job["story_id"],
                recording["id"],
                segments=[vars(segment) for segment in transcript.segments],
                language=transcript.language,
                model=transcript.model,
            )
            job_status.finish_job(db, job_id)


def this_worker() -> str:
    """Who holds a claim: host, pid and the process's start time (a pid is reused; the pair is not)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid()) or ''}"


def worker_gone(claimant: str | None) -> bool:
    """Is the worker process named in a claim known to be dead? Only this machine's can be known."""
    if not claimant or claimant.count(":") < 2:
        return False
    host, pid, started = claimant.rsplit(":", 2)
    if host != socket.gethostname() or not started:
        return False
    return _start_time(int(pid)) != started


def _start_time(pid: int) -> str | None:
    """When a process started, in clock ticks since boot (/proc/PID/stat field 22); None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # after the command name, which may hold spaces: fields 3 onwards


@contextmanager
def heartbeat(instance: Instance, job_id: int) -> Iterator[None]:
    """Beat every HEARTBEAT seconds while a long step runs, so recovery never takes over a live job."""
    stop = threading.Event()

    def beat() -> None:
        with instance.connection() as db:  # its own connection: the step's connection belongs to another thread
            while not stop.wait(HEARTBEAT):
                job_status.beat(db, job_id)

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run_tagging(instance: Instance, job_id: int) -> None:
    """Suggest outcome tags for a story's current text, in every framework in use."""
    from pipelines.tag import framework_provenance, tag_text

    with instance.connection() as db:
        try:
            job = job_status.claim_job(db, job_id, this_worker())
            if job is None:
                return
            story_id = job["story_id"]
            row = db.execute("SELECT body, source FROM stories WHERE id = ?", [story_id]).fetchone()
            if row is None:
                return
            body, source = row
            segments = None
            if source == "audio":
                transcript = get_transcript(db, story_id)
                segments = [s for s in transcript["segments"] if s["text"]] if transcript else None
            with heartbeat(instance, job_id):  # loading the pipeline the first time can take a while on a busy machine
                lenses = [(framework, tag_text(body, segments, framework)) for framework in frameworks_in_use(instance)]
            with write_transaction(db):
                if not job_status.owns(db, job):
                    return
                for framework, suggestions in lenses:
                    found = [
                        {**s.as_dict(), "reading": s.reading, "audio_start": s.audio_start, "audio_end": s.audio_end}
                        for s in suggestions
                    ]
                    save_suggestions(
                        db,
                        story_id,
                        found,
                        framework=framework.id,
                        version=framework.version,
                        provenance=framework_provenance(framework),
                    )
                    save_proposals(db, story_id, found, framework.id)  # words for what people stated, for them to pick
                job_status.finish_job(db, job_id)
        except Exception:
            log.exception("tagging job %s failed", job_id)
            job_status.fail_job(db, job_id, "Suggesting outcomes failed unexpectedly; you can still add tags yourself.")


def run_upload_sweep(instance: Instance) -> None:
    """Delete uploads no story claimed within UNCLAIMED_HOURS (a form sent back and never finished)."""
    with instance.connection() as db:
        gone = sweep_unclaimed(db, instance.root)
    if gone:
        log.info("deleted %d upload(s) no story claimed within %d hours", len(gone), UNCLAIMED_HOURS)
