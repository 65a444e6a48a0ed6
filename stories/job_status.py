"""What each background job is doing, as the story page shows it: queued, running (with progress), done, failed.

The queue (huey) only carries job ids; this table is the truth. A job is claimed atomically
before it runs, so a job delivered twice (after a crash, or re-queued by recovery) runs once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlite_utils

from stories.clock import now, now_iso
from stories.db import write_transaction

# Running jobs beat every 10 s (pipelines/runs.py). Silent this long, the story page says the job
# was interrupted; silent for STALE_AFTER, another worker may take it over. A worker that died on
# this machine is known at once (its claim names the process), so its jobs go back to the queue then.
SILENT_AFTER = dt.timedelta(seconds=25)
STALE_AFTER = dt.timedelta(seconds=45)
QUEUED_GRACE = dt.timedelta(seconds=60)  # a queued job not started this long may have been lost


def create_job(db: sqlite_utils.Database, story_id: int, kind: str) -> int:
    stamp = now_iso()
    return db.execute(
        "INSERT INTO jobs (story_id, kind, status, created_at, updated_at) VALUES (?, ?, 'queued', ?, ?)",
        [story_id, kind, stamp, stamp],
    ).lastrowid


def claim_job(db: sqlite_utils.Database, job_id: int, worker: str = "") -> dict[str, Any] | None:
    """Mark a job running for this worker if no live worker has it; returns it, or None if it should not run now."""
    stale = (now() - STALE_AFTER).isoformat(timespec="seconds")
    with write_transaction(db):
        claimed = db.execute(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, progress = 0, error = NULL, updated_at = ?,"
            " claimed_by = ? WHERE id = ? AND (status = 'queued' OR (status = 'running' AND updated_at < ?))",
            [now_iso(), worker, job_id, stale],
        ).rowcount
        if not claimed:
            return None
        return get_job(db, job_id)


def beat(db: sqlite_utils.Database, job_id: int) -> None:
    """Say the running job's worker is alive, even while its progress has nothing new to report."""
    db.execute("UPDATE jobs SET updated_at = ? WHERE id = ? AND status = 'running'", [now_iso(), job_id])


def mark_interrupted(db: sqlite_utils.Database, job: dict[str, Any]) -> bool:
    """A running job whose worker died goes back to the queue, noted so the story page can say so."""
    stamp = now_iso()
    return bool(
        db.execute(
            "UPDATE jobs SET status = 'queued', interrupted_at = ?, updated_at = ?"
            " WHERE id = ? AND status = 'running' AND attempts = ?",
            [stamp, stamp, job["id"], job["attempts"]],
        ).rowcount
    )


def mark_requeued(db: sqlite_utils.Database, job_id: int) -> None:
    """Recovery re-sent this queued job; wait a full grace period before sending it again."""
    db.execute("UPDATE jobs SET updated_at = ? WHERE id = ? AND status = 'queued'", [now_iso(), job_id])


def report_progress(db: sqlite_utils.Database, job_id: int, fraction: float) -> None:
    """Also the job's heartbeat: a running job that stops reporting is picked up again."""
    db.execute(
        "UPDATE jobs SET progress = ?, updated_at = ? WHERE id = ? AND status = 'running'",
        [max(0.0, min(1.0, fraction)), now_iso(), job_id],
    )


def owns(db: sqlite_utils.Database, job: dict[str, Any]) -> bool:
    """Is this claim still the job's current one? A worker presumed lost may come back after another took over."""
    row = db.execute("SELECT status, attempts FROM jobs WHERE id = ?", [job["id"]]).fetchone()
    return row is not None and row[0] == "running" and row[1] == job["attempts"]


def finish_job(db: sqlite_utils.Database, job_id: int) -> None:
    db.execute("UPDATE jobs SET status = 'done', progress = 1, updated_at = ? WHERE id = ?", [now_iso(), job_id])


def fail_job(db: sqlite_utils.Database, job_id: int, reason: str) -> None:
    db.execute("UPDATE jobs SET status = 'failed', error = ?, updated_at = ? WHERE id = ?", [reason[:500], now_iso(), job_id])


def requeue_job(db: sqlite_utils.Database, job_id: int) -> bool:
    """Put a failed job back in the queue (the Retry button); False if it is not failed."""
    return bool(
        db.execute(
            "UPDATE jobs SET status = 'queued', progress = 0, error = NULL, updated_at = ? WHERE id = ? AND status = 'failed'",
            [now_iso(), job_id],
        ).rowcount
    )


def get_job(db: sqlite_utils.Database, job_id: int) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM jobs WHERE id = ?", [job_id]))
    return rows[0] if rows else None


def latest_jobs(db: sqlite_utils.Database, story_id: int) -> dict[str, dict[str, Any]]:
    """The most recent job of each kind for a story, each saying whether it was interrupted and not yet resumed."""
    silent = (now() - SILENT_AFTER).isoformat(timespec="seconds")
    jobs: dict[str, dict[str, Any]] = {}
    for job in db.query("SELECT * FROM jobs WHERE story_id = ? ORDER BY id", [story_id]):
        job["interrupted"] = (job["status"] == "running" and job["updated_at"] < silent) or (
            job["status"] == "queued" and job["interrupted_at"] is not None
        )
        jobs[job["kind"]] = job
    return jobs


def jobs_to_recover(db: sqlite_utils.Database, worker_gone: Callable[[str | None], bool]) -> list[dict[str, Any]]:
    """Jobs whose queue message may have been lost: queued too long, or running for a worker that is dead or silent."""
    queued_before = (now() - QUEUED_GRACE).isoformat(timespec="seconds")
    stale = (now() - STALE_AFTER).isoformat(timespec="seconds")
    return [
        job
        for job in db.query("SELECT * FROM jobs WHERE status IN ('queued', 'running')")
        if (job["status"] == "queued" and job["updated_at"] < queued_before)
        or (job["status"] == "running" and (job["updated_at"] < stale or worker_gone(job["claimed_by"])))
    ]
