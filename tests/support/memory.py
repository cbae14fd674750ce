"""Peak resident memory of processes while something runs, sampled from another thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psutil


class PeakRss:
    def __init__(self, pids: dict[str, int]) -> None:
        self._procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.idle = {name: proc.memory_info().rss for name, proc in self._procs.items()}
        self.peak = dict(self.idle)

    def sample(self) -> None:
        for name, proc in self._procs.items():
            self.peak[name] = max(self.peak[name], proc.memory_info().rss)

    def growth_mib(self) -> dict[str, float]:
        return {name: (self.peak[name] - self.idle[name]) / 2**20 for name in self._procs}


@contextmanager
def peak_rss(pids: dict[str, int], interval: float = 0.02) -> Iterator[PeakRss]:
    meter = PeakRss(pids)
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval):
            meter.sample()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield meter
    finally:
        stop.set()
        thread.join()
        meter.sample()
