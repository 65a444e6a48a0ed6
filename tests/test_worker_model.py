"""A worker loads the Whisper model once, at its first recording, and keeps it for every job after (issue 18).

Each transcription job calls `transcribe` in the worker's process (huey runs jobs on threads), so
the second recording must find the model already loaded: no second load, and no second second of it.
"""

from __future__ import annotations

import logging
import threading

import pytest

from pipelines import transcribe as t
from tests.audio import speak

SAID = "Now Priya rings every Tuesday and I go to the lunch club at the church hall."


@pytest.fixture(scope="module")
def spoken_story(tmp_path_factory):
    folder = tmp_path_factory.mktemp("speech")
    return [speak(SAID, folder, f"job-{n}", fmt="webm") for n in range(3)]


def test_jobs_after_the_first_find_the_model_loaded(spoken_story, caplog):
    t._load_faster_whisper.cache_clear()  # as a worker starting
    config = t.TranscriberConfig()
    with caplog.at_level(logging.INFO, logger=t.__name__):
        first = t.transcribe(spoken_story[0], engine_config=config)
        # Two more jobs at once, on two threads, as a worker started with --workers 2 runs them.
        threads = [
            threading.Thread(target=t.transcribe, args=(clip,), kwargs={"engine_config": config}) for clip in spoken_story[1:]
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    loads = [record for record in caplog.records if record.getMessage().startswith("loaded Whisper model")]
    assert len(loads) == 1
    assert "lunch club" in first.text.lower()
