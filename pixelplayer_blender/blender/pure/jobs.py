"""Long work in a worker thread, observed from Blender's main thread.

The worker only runs the given function (which must not touch ``bpy``); progress and the outcome
travel back through a queue and attributes that the main thread reads from a modal timer.
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Callable

Progress = Callable[[float, str], None]
Work = Callable[[Progress, Callable[[], bool]], Any]


class Job:
    """Run ``work(progress, cancelled)`` in a daemon thread; ``subject`` says what it works on (a file, say)."""

    def __init__(self, work: Work, subject: str = "") -> None:
        self.subject = subject
        self.fraction = 0.0
        self.message = ""
        self.result: Any = None
        self.error: BaseException | None = None
        self._updates: queue.SimpleQueue[tuple[float, str]] = queue.SimpleQueue()
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(work,), name="pixelplayer-job", daemon=True)
        self._thread.start()

    def _run(self, work: Work) -> None:
        try:
            self.result = work(lambda fraction, message: self._updates.put((fraction, message)), self._cancel.is_set)
        except BaseException as error:  # handed to the main thread, which reports it
            self.error = error

    def poll(self) -> bool:
        """Take in the worker's progress; True once the work has ended (see ``result``/``error``)."""
        ended = not self._thread.is_alive()
        while True:
            try:
                self.fraction, self.message = self._updates.get_nowait()
            except queue.Empty:
                break
        return ended

    def cancel(self) -> None:
        """Ask the work to stop at its next ``cancelled()`` check."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the work ends; True if it did within ``timeout``."""
        self._thread.join(timeout)
        return self.poll()
