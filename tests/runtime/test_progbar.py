"""Differential tests: kgraph's Progbar must print exactly what keras.utils.Progbar prints."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import io
import re
import sys
import time

import jax.numpy as jnp
import keras
import numpy as np
import pytest

from kgraph.runtime.progbar import Progbar

START = 1_000.0


class Clock:
    """Stand-in for `time.time`, advanced only by the test (both progbars read it)."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(time, "time", fake)
    monkeypatch.delenv("PYCHARM_HOSTED", raising=False)
    return fake


def as_float32(value):
    """What Keras' `fit` passes its progbar for a float32 device scalar: a Python float."""
    return float(np.float32(value))


def run(cls, kwargs, script, clock, capsys, convert=lambda v: v):
    """Replays `script` ((seconds, method, step, values, finalize) tuples) on a fresh bar."""
    capsys.readouterr()
    clock.now = START
    bar = cls(**kwargs)
    for seconds, method, step, values, finalize in script:
        clock.now += seconds
        values = None if values is None else [(k, convert(v)) for k, v in values]
        if method == "add":
            bar.add(step, values)
        else:
            bar.update(step, values, finalize)
    return capsys.readouterr().out


def assert_same_as_keras(kwargs, script, clock, capsys, kind="float"):
    """Runs Keras with Python floats and ours with `kind` values; outputs must be identical."""
    if kind == "jax":
        theirs = run(keras.utils.Progbar, kwargs, script, clock, capsys, as_float32)
        ours = run(Progbar, kwargs, script, clock, capsys, lambda v: jnp.asarray(v, jnp.float32))
    else:
        theirs = run(keras.utils.Progbar, kwargs, script, clock, capsys)
        ours = run(Progbar, kwargs, script, clock, capsys)
    assert ours == theirs
    return ours


def epoch(target, seconds_per_step, metrics, finalize_values=None):
    """An update per step 1..target; metrics(step) gives the values for that step."""
    script = [(seconds_per_step, "update", step, metrics(step), None) for step in range(1, target + 1)]
    if finalize_values is not None:
        script.append((0.0, "update", target, finalize_values, True))
    return script


def losses(step):
    return [("loss", 2.0 / step + 0.125), ("sparse_categorical_accuracy", 1.0 - 1.0 / (step + 1))]


@pytest.mark.parametrize("kind", ["float", "jax"])
@pytest.mark.parametrize("verbose", [1, 2])
@pytest.mark.parametrize("seconds_per_step", [0.000955, 0.012, 1.5])
def test_epoch_matches_keras(clock, capsys, kind, verbose, seconds_per_step):
    script = epoch(782, seconds_per_step, losses)
    out = assert_same_as_keras({"target": 782, "verbose": verbose}, script, clock, capsys, kind)
    assert "782/782" in out and "loss: " in out


def test_first_step_is_left_out_of_the_time_per_step(clock, capsys):
    script = [(30.0, "update", 1, [("loss", 1.0)], None)]
    script += [(0.000955, "update", step, [("loss", 0.5)], None) for step in range(2, 11)]
    out = assert_same_as_keras({"target": 10}, script, clock, capsys)
    assert "955us/step" in out


@pytest.mark.parametrize("seconds_per_step", [0.9, 2.0, 40.0, 100.0])
def test_eta_formats_match_keras(clock, capsys, seconds_per_step):
    # Every step drawn, so the ETA passes through exactly 60 s and 3600 s where it can.
    script = epoch(100, seconds_per_step, lambda step: [("loss", 0.25)])
    out = assert_same_as_keras({"target": 100, "interval": 0.0}, script, clock, capsys)
    assert re.search(r"\x1b\[1m(\d+:)?\d+(:\d\d|s)\x1b\[0m", out)


@pytest.mark.parametrize("kind", ["float", "jax"])
@pytest.mark.parametrize("verbose", [1, 2])
def test_stateful_tiny_and_negative_values(clock, capsys, kind, verbose):
    def metrics(step):
        return [("loss", 1e-6 * step), ("acc", 0.5 + step / 64), ("delta", -0.25 * step), ("lr", 1e-6), ("cutoff", 1e-3), ("zero", -0.0)]

    kwargs = {"target": 12, "verbose": verbose, "stateful_metrics": ["acc", "lr", "cutoff"], "interval": 0.0}
    out = assert_same_as_keras(kwargs, epoch(12, 0.01, metrics), clock, capsys, kind)
    assert "e-0" in out


@pytest.mark.parametrize("verbose", [1, 2])
def test_finalize_replaces_the_average(clock, capsys, verbose):
    script = epoch(20, 0.02, losses, finalize_values=[("loss", 0.375), ("val_loss", 0.5)])
    assert_same_as_keras({"target": 20, "verbose": verbose}, script, clock, capsys, "jax")


@pytest.mark.parametrize("verbose", [1, 2])
def test_unknown_target(clock, capsys, verbose):
    # As in Keras' first epoch over a dataset of unknown size: steps, then a finalizing update.
    script = epoch(300, 0.003, losses, finalize_values=[("loss", 0.5), ("sparse_categorical_accuracy", 0.75)])
    out = assert_same_as_keras({"target": None, "verbose": verbose}, script, clock, capsys, "jax")
    assert ("/Unknown" in out) == (verbose == 1)


def test_add_counts_steps_and_weights_the_average(clock, capsys):
    # Steps exactly `interval` / 2 apart (binary-exact), so every other one is drawn.
    script = [(0.25, "add", 32, [("loss", 1.0 + step)], None) for step in range(10)]
    script += [(0.25, "add", 7, [("loss", 0.5)], None)]
    kwargs = {"target": 327, "width": 30, "unit_name": "sample", "interval": 0.5}
    out = assert_same_as_keras(kwargs, script, clock, capsys, "jax")
    assert "us/sample" in out or "ms/sample" in out


def test_irregular_updates(clock, capsys):
    script = [
        (0.0, "update", 0, None, None),
        (1.0, "update", 1, [("loss", 12345.678)], None),
        (0.1, "update", 1, [("loss", 12.5)], None),  # the same step twice
        (0.1, "update", 5, [("loss", 0.5), ("metric", 3)], None),  # a jump; a new metric; an int
        (0.1, "update", 4, [("loss", 0.25)], None),  # backwards
        (0.1, "update", 15, [("loss", 0.125)], None),  # past the target
        (0.1, "update", 15, [("loss", np.array([0.5, 1.5])), ("metric", 2)], True),
    ]
    assert_same_as_keras({"target": 10, "interval": 0.0}, script, clock, capsys)


@pytest.mark.parametrize("verbose", [1, 2])
def test_zero_target(clock, capsys, verbose):
    script = [(0.5, "update", 0, [("loss", 0.5)], None), (0.5, "update", 3, [("loss", 0.25)], False)]
    assert_same_as_keras({"target": 0, "verbose": verbose}, script, clock, capsys)


def test_silent(clock, capsys):
    assert assert_same_as_keras({"target": 5, "verbose": 0}, epoch(5, 0.1, losses), clock, capsys) == ""


def test_line_per_update_without_dynamic_display(clock, capsys, monkeypatch):
    # Keras redraws in place on any POSIX system; hide that to reach its "\n" mode.
    monkeypatch.delitem(sys.modules, "posix")
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    out = assert_same_as_keras({"target": 30, "interval": 0.1}, epoch(30, 0.03, losses), clock, capsys)
    assert "\r" not in out and out.count("\n") > 2


def test_many_unread_values(clock, capsys):
    # ~2500 steps between two lines: more unread values than are kept pending,
    # so the older ones are summed early; the average must not change.
    script = epoch(3000, 0.0001, losses) + [(1.0, "update", 3001, losses(3001), None)]
    kwargs = {"target": 10_000, "interval": 0.25}
    out = assert_same_as_keras(kwargs, script, clock, capsys, "jax")
    assert out.count("\r") == 3


def normalize_timing(text):
    """Blanks the durations, and the widths they change (backspaces, padding)."""
    text = re.sub(r"\x1b\[1m[\d:]+s?\x1b\[0m", "\x1b[1m<T>\x1b[0m", text)  # ETA or elapsed
    text = re.sub(r" \d+(s|ms|us)/", " <T>/", text)  # time per unit
    text = re.sub(r" - \d+s - ", " - <T> - ", text)  # verbose=2 elapsed
    text = re.sub(r"\x08+", "\x08", text)
    return re.sub(r" +(?=[\r\n\x08]|$)", "", text)


@pytest.mark.parametrize("verbose", [1, 2])
def test_real_clock_matches_keras_up_to_timing(capsys, verbose):
    kwargs = {"target": 50, "verbose": verbose, "interval": 0.0}

    def replay(cls, convert):
        capsys.readouterr()
        bar = cls(**kwargs)
        for step in range(1, 51):
            bar.update(step, [(k, convert(v)) for k, v in losses(step)])
        return capsys.readouterr().out

    theirs = replay(keras.utils.Progbar, as_float32)
    ours = replay(Progbar, lambda v: jnp.asarray(v, jnp.float32))
    assert normalize_timing(ours) == normalize_timing(theirs)
    assert ours.count("━") == theirs.count("━")


class CountingValue:
    """A metric value that counts how often it is read as a float."""

    def __init__(self, value: float) -> None:
        self.value = value
        self.reads = 0

    def __float__(self) -> float:
        self.reads += 1
        return self.value


def test_values_are_read_only_when_a_line_is_drawn(clock, capsys):
    bar = Progbar(target=10, interval=10.0, stateful_metrics=["acc"])
    losses_ = [CountingValue(0.5 + step) for step in range(10)]
    accs = [CountingValue(0.1 * step) for step in range(10)]

    def step_to(step, seconds):
        clock.now += seconds
        bar.update(step, [("loss", losses_[step - 1]), ("acc", accs[step - 1])])

    step_to(1, 1.0)  # the first update always draws
    assert (losses_[0].reads, accs[0].reads) == (1, 1)
    for step in range(2, 6):
        step_to(step, 1.0)  # within `interval` of the last line: nothing drawn, nothing read
    assert [v.reads for v in losses_[1:5] + accs[1:5]] == [0] * 8
    step_to(6, 10.0)  # a line is due: the pending losses are read once, only the last accuracy
    assert [v.reads for v in losses_[:6]] == [1] * 6
    assert [v.reads for v in accs[:6]] == [1, 0, 0, 0, 0, 1]
    step_to(7, 1.0)
    assert losses_[6].reads == 0
    out = capsys.readouterr().out
    assert out.count("\r") == 2 and "loss: 3.0000" in out  # mean of 0.5 + 0..5


def test_summary_line_reads_values_only_at_the_end(clock, capsys):
    bar = Progbar(target=5, verbose=2)
    values = [CountingValue(float(step)) for step in range(6)]
    for step in range(1, 6):
        clock.now += 1.0
        bar.update(step, [("loss", values[step - 1])])
        assert capsys.readouterr().out == ("" if step < 5 else "5/5 - 5s - 1s/step - loss: 4.0000\n")
    # The finalizing update replaces the average, so the earlier values are never read.
    assert [v.reads for v in values[:5]] == [0, 0, 0, 0, 1]


def test_stdout_that_cannot_encode_the_bar(clock, monkeypatch):
    def replay(cls):
        stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
        monkeypatch.setattr(sys, "stdout", stream)
        clock.now = START
        bar = cls(target=4, stateful_metrics=["é"])
        for step in range(1, 5):
            clock.now += 0.1
            bar.update(step, [("loss", 0.5), ("é", 0.25)])
        stream.flush()
        return stream.buffer.getvalue()

    theirs = replay(keras.utils.Progbar)
    ours = replay(Progbar)
    assert ours == theirs and b"====" in ours
