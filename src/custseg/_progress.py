"""A small step progress bar for the command line (stderr, only on a terminal)."""

from __future__ import annotations

import sys
import time


class StepProgress:
    """Show ``[#####.....] 3/8 fitting the spend model  12.4 s`` on stderr.

    Disabled (silent) when stderr is not a terminal, unless ``enabled=True``.
    """

    def __init__(self, steps: int, *, enabled: bool | None = None, stream=None, width=24):
        self.steps = steps
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = (self.stream.isatty() if enabled is None else enabled)
        self.width = width
        self.done = 0
        self.t0 = time.perf_counter()
        self.timings: list[tuple[str, float]] = []
        self._label = ""
        self._t_step = self.t0

    def _draw(self, final: bool = False):
        if not self.enabled:
            return
        filled = int(self.width * self.done / max(self.steps, 1))
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = time.perf_counter() - self.t0
        line = f"\r[{bar}] {self.done}/{self.steps} {self._label:<40.40} {elapsed:6.1f} s"
        self.stream.write(line + ("\n" if final else ""))
        self.stream.flush()

    def step(self, label: str):
        """Mark the previous step done and start ``label``."""
        now = time.perf_counter()
        if self._label:
            self.timings.append((self._label, now - self._t_step))
            self.done += 1
        self._label, self._t_step = label, now
        self._draw()

    def close(self):
        now = time.perf_counter()
        if self._label:
            self.timings.append((self._label, now - self._t_step))
            self.done += 1
        self._label = "done"
        self._draw(final=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.close()
        elif self.enabled:
            self.stream.write("\n")
        return False
