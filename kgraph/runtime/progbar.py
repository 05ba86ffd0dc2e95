"""Keras 3's text progress bar, reproduced byte for byte.

Metric values may be JAX arrays that the device is still computing; they are read
(converted to Python floats) only when a line is actually drawn, so a fast training
loop does not wait on the device at every step.
"""

from __future__ import annotations

import logging
import math
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from kgraph import config

# ANSI colour/bold codes, which take no room on screen.
_ANSI_CODE = re.compile(r"\x1b\[[0-9;]*m")
# Unread values one metric may hold; past this the older half is read and summed,
# which bounds memory without waiting on recent steps.
_MAX_PENDING = 1024


def _to_float(value: Any) -> float:
    """Reads a scalar (or the mean of an array) as a Python float, waiting for the device."""
    if np.ndim(value) == 0:
        return float(value)
    return float(np.mean(value))


def _format_value(average: float, signed_cutoff: bool = False) -> str:
    """Keras' metric format: `%.4f`, or `%.4e` at or below 1e-3 in magnitude.

    Keras' one-line summary (verbose=2) compares the signed value, so it writes every
    negative value in `%.4e`; `signed_cutoff` reproduces that.
    """
    large = (average if signed_cutoff else abs(average)) > 1e-3
    return f"{average:.4f}" if large else f"{average:.4e}"


def _format_time_per_unit(seconds: float, unit_name: str) -> str:
    """Duration of one unit as ` 2s/step`, ` 12ms/step` or ` 955us/step`."""
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit_name}"
    return f" {seconds * 1e6:.0f}us/{unit_name}"


def _format_eta(seconds: float) -> str:
    """Remaining time as `h:mm:ss`, `m:ss` or `Ns`."""
    if seconds > 3600:
        return "%d:%02d:%02d" % (seconds // 3600, (seconds % 3600) // 60, seconds % 60)
    if seconds > 60:
        return "%d:%02d" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


def _write(message: str) -> None:
    """Writes to stdout (to the "kgraph" logger when interactive logging is off); where stdout cannot encode
    the bar glyph, falls back to `=` as Keras does."""
    if not config.is_interactive_logging_enabled():
        logging.getLogger("kgraph").info(message.strip("\r\n"))
        return
    try:
        sys.stdout.write(message)
    except UnicodeEncodeError:
        encoding = sys.stdout.encoding or "utf-8"
        message = message.replace("━", "=").encode(encoding, errors="ignore")
        sys.stdout.write(message.decode(encoding))
    sys.stdout.flush()


class _WeightedSum:
    """Step-weighted sum of one metric; values are kept as received until the sum is read."""

    def __init__(self) -> None:
        self._total: float | None = None
        self._pending: list[tuple[Any, int]] = []
        self.count = 0

    def reset(self, value: Any) -> None:
        """Replaces the history by a single value (stateful metrics, finalizing updates)."""
        self._total = None
        self._pending = [(value, 1)]
        self.count = 1

    def add(self, value: Any, weight: int) -> None:
        """Adds `value` counted `weight` times, without reading it."""
        self._pending.append((value, weight))
        self.count += weight
        if len(self._pending) > _MAX_PENDING:
            self._fold(_MAX_PENDING // 2)

    def _fold(self, n: int) -> None:
        # Summed oldest first in float64, as Keras sums the Python floats `fit` gives it.
        for value, weight in self._pending[:n]:
            term = _to_float(value) * weight
            self._total = term if self._total is None else self._total + term
        del self._pending[:n]

    def average(self) -> float:
        """Reads every pending value and returns the step-weighted mean."""
        self._fold(len(self._pending))
        return self._total / max(1, self.count)


class Progbar:
    """Keras 3's progress bar (`keras.utils.Progbar`) with identical output.

    Values are converted to floats only when a line is drawn: at most once per
    `interval` seconds with verbose=1, only at the end with verbose=2.
    """

    def __init__(
        self,
        target: int | None,
        width: int = 20,
        verbose: int = 1,
        interval: float = 0.05,
        stateful_metrics: Iterable[str] | None = None,
        unit_name: str = "step",
    ) -> None:
        """Creates a bar whose clock starts now.

        Args:
            target: Total number of steps expected, or None if unknown.
            width: Width of the bar in characters.
            verbose: 0 (silent), 1 (dynamic bar) or 2 (one line when finalized).
            interval: Minimum number of seconds between two drawn lines (verbose=1).
            stateful_metrics: Names of metrics displayed as last given; the others
                are averaged over the steps seen.
            unit_name: Name of a step in the time per unit (e.g. "step", "sample").
        """
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.stateful_metrics = set(stateful_metrics or ())
        self.unit_name = unit_name
        # Keras' test: redraw in place with `\b`/`\r` on a terminal, in a notebook, or on any POSIX system.
        self._dynamic_display = (
            (hasattr(sys.stdout, "isatty") and sys.stdout.isatty())
            or "ipykernel" in sys.modules
            or "posix" in sys.modules
            or "PYCHARM_HOSTED" in os.environ
        )
        self._seen_so_far = 0
        self._sums: dict[str, _WeightedSum] = {}  # in order of first appearance
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step: float | None = None
        self._prev_total_width = 0

    def update(
        self,
        current: int,
        values: Sequence[tuple[str, Any]] | None = None,
        finalize: bool | None = None,
    ) -> None:
        """Records step `current` with `(name, value)` pairs and draws if due.

        Args:
            current: Index of the current step.
            values: `(name, value_for_last_step)` pairs; values may be device arrays.
            finalize: Whether this is the last update; defaults to `current >= target`.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or ():
            weighted_sum = self._sums.setdefault(name, _WeightedSum())
            if finalize or name in self.stateful_metrics:
                weighted_sum.reset(value)
            else:
                weighted_sum.add(value, max(current - self._seen_so_far, 1))
        self._seen_so_far = current

        now = time.time()
        time_per_unit = self._time_per_unit(current, now)
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._draw_bar(current, now, time_per_unit, finalize)
        elif self.verbose == 2 and finalize and self.target is not None and self.target > 0:
            self._write_summary(current, now, time_per_unit)
        self._last_update = now

    def add(self, n: int, values: Sequence[tuple[str, Any]] | None = None) -> None:
        """Advances the bar by `n` steps; see `update`."""
        self.update(self._seen_so_far + n, values)

    def _draw_bar(self, current: int, now: float, time_per_unit: float, finalize: bool) -> None:
        """Redraws the verbose=1 line: counter, bar, ETA or elapsed time, time per unit, metrics."""
        has_target = self.target is not None and self.target > 0
        if has_target:
            digits = int(math.log10(self.target)) + 1
            bar = "\x1b[1m%*d/%d\x1b[0m " % (digits, current, self.target)
            done = int(self.width * (float(current) / self.target))
            if done > 0:
                bar += f"\x1b[32m{'━' * done}\x1b[0m"
            bar += f"\x1b[37m{'━' * (self.width - done)}\x1b[0m"
        else:
            bar = "%7d/Unknown" % current

        if has_target and not finalize:
            info = f" \x1b[1m{_format_eta(time_per_unit * (self.target - current))}\x1b[0m"
        else:
            info = f" \x1b[1m{now - self._start:.0f}s\x1b[0m"
        info += _format_time_per_unit(time_per_unit, self.unit_name)
        for name, weighted_sum in self._sums.items():
            info += f" - {name}: {_format_value(weighted_sum.average())}"

        line = bar + info
        total_width = len(_ANSI_CODE.sub("", line))
        prefix = "\b" * self._prev_total_width + "\r" if self._dynamic_display else "\n"
        padding = " " * (self._prev_total_width - total_width)
        _write(prefix + line + padding + ("\n" if finalize else ""))
        self._prev_total_width = total_width

    def _write_summary(self, current: int, now: float, time_per_unit: float) -> None:
        """Writes the verbose=2 line for a finished epoch."""
        digits = int(math.log10(self.target)) + 1
        line = "%*d/%d" % (digits, current, self.target)
        line += f" - {now - self._start:.0f}s -{_format_time_per_unit(time_per_unit, self.unit_name)}"
        for name, weighted_sum in self._sums.items():
            line += f" - {name}: {_format_value(weighted_sum.average(), signed_cutoff=True)}"
        _write(line + "\n")

    def _time_per_unit(self, current: int, now: float) -> float:
        """Seconds per step, leaving out the first step (often compilation) once later ones exist."""
        if not current:
            return 0
        if self._time_after_first_step is not None and current > 1:
            seconds = (now - self._time_after_first_step) / (current - 1)
        else:
            seconds = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return seconds
