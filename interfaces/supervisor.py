"""Supervision of `consult serve --workers N`'s child (`consult worker [--reporting]`): a child that
dies is started again, after a back-off that grows while it keeps dying young (0.5 s doubling up to
30 s; back to 0.5 s once a run lasted a minute). Its projections resume from their tracking
positions, so nothing is applied twice or lost; meanwhile `GET /api/v1/health` shows the lag."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time

log = logging.getLogger("consult.supervisor")


class Supervised:
    def __init__(
        self,
        command: list[str],
        env: dict[str, str],
        name: str,
        first_delay: float = 0.5,
        max_delay: float = 30.0,
        healthy_after: float = 60.0,
    ):
        self.command = command
        self.env = env
        self.name = name
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.healthy_after = healthy_after
        self.restarts = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, daemon=True, name=f"supervise-{self.name}")
        self._watcher.start()

    def _spawn(self) -> None:
        with self._lock:
            if not self._stop.is_set():
                self.process = subprocess.Popen(self.command, env=self.env)

    def _watch(self) -> None:
        delay = self.first_delay
        while not self._stop.is_set():
            process = self.process
            assert process is not None
            started = time.monotonic()
            code = process.wait()
            if self._stop.is_set():
                return
            delay = self.first_delay if time.monotonic() - started >= self.healthy_after else delay
            message = (
                f"consult serve: the {self.name} (pid {process.pid}) exited with {code}; restarting in {delay:.1f}s"
            )
            print(message, file=sys.stderr, flush=True)
            log.warning(message)
            if self._stop.wait(delay):
                return
            self.restarts += 1
            self._spawn()
            delay = min(self.max_delay, delay * 2)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        with self._lock:
            process = self.process
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
