"""The worker-thread job behind the Analyze operator's modal timer."""
import threading

import pytest

from pixelplayer_blender.blender.pure.jobs import Job


def test_progress_and_result_reach_the_main_thread():
    release = threading.Event()

    def work(progress, cancelled):
        progress(0.5, "halfway")
        release.wait(5)
        progress(1.0, "done")
        return 42

    job = Job(work)
    while job.message != "halfway":
        assert not job.poll()
    release.set()
    assert job.wait(5)
    assert (job.fraction, job.message, job.result, job.error) == (1.0, "done", 42, None)


def test_cancel_is_seen_by_the_work_and_its_error_kept():
    started = threading.Event()

    def work(progress, cancelled):
        started.set()
        while not cancelled():
            pass
        raise KeyboardInterrupt("stopped")

    job = Job(work)
    started.wait(5)
    assert not job.poll()
    job.cancel()
    assert job.wait(5)
    assert isinstance(job.error, KeyboardInterrupt) and job.result is None


@pytest.mark.parametrize("error", [ValueError("bad media"), MemoryError()])
def test_errors_are_handed_over_not_raised_in_the_thread(error):
    def work(progress, cancelled):
        raise error

    job = Job(work)
    assert job.wait(5)
    assert job.error is error
