"""The persistent compilation cache: a second process's first epoch loads its executables instead of compiling."""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = """
import json
import logging
import jax
import numpy as np

events, hits = [], []
jax.monitoring.register_event_listener(lambda name, **kw: events.append(name))


class Hits(logging.Handler):
    def emit(self, record):
        if record.msg.startswith("Persistent compilation cache hit for"):
            hits.append(record.args[0])


logging.getLogger("jax._src.compiler").addHandler(Hits())
jax.config.update("jax_log_compiles", True)
import kgraph as keras

import os


class OwnStep(keras.Sequential):
    def train_step(self, state, data):
        return super().train_step(state, data)


kind = OwnStep if os.environ.get("OWN_TRAIN_STEP") else keras.Sequential
model = kind([keras.Input((20,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dropout(0.5),
              keras.layers.Dense(3)])
model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
x = np.random.default_rng(0).random((96, 20), dtype=np.float32)
model.fit(x, np.arange(96) % 3, batch_size=32, epochs=1, verbose=0)
print("EVENTS " + json.dumps(events))
print("HITS " + json.dumps(hits))
"""


def _first_epoch(env: dict) -> tuple[list[str], list[str]]:
    """The process's compilation-cache events and the names of the executables it loaded from the cache."""
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    events, hits = ([l for l in lines if l.startswith(tag)][-1][len(tag):] for tag in ("EVENTS ", "HITS "))
    return json.loads(events), json.loads(hits)


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    env["PYTHONPATH"] = os.getcwd() + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


@pytest.mark.parametrize("own_step", [False, True], ids=["kgraph_step", "own_train_step"])
def test_a_second_process_loads_the_first_epoch_from_the_cache(tmp_path, own_step):
    """Unseeded: the Dropout layer's seed is drawn per process, and it is data of the train step, not a constant
    (in a model's own `train_step` too), so the second process compiles the same program and loads the train
    step (`jit_run`) from the cache."""
    env = _env(KGRAPH_COMPILATION_CACHE=str(tmp_path / "cache"), **({"OWN_TRAIN_STEP": "1"} if own_step else {}))
    cold, cold_hits = _first_epoch(env)
    assert "/jax/compilation_cache/cache_misses" in cold
    assert "jit_run" not in cold_hits
    assert os.listdir(tmp_path / "cache")
    warm, warm_hits = _first_epoch(env)
    assert "/jax/compilation_cache/cache_hits" in warm
    # Only the train step is asserted: executables that compiled faster than the cache's threshold in the first
    # process (a key's seeding, on a quiet machine) were not written, so the second one misses them.
    assert "jit_run" in warm_hits


def test_zero_turns_the_cache_off(tmp_path):
    events, _ = _first_epoch(_env(KGRAPH_COMPILATION_CACHE="0", KGRAPH_HOME=str(tmp_path)))
    assert "/jax/compilation_cache/cache_hits" not in events
    assert "/jax/compilation_cache/cache_misses" not in events
    assert not (tmp_path / "cache").exists()


def test_the_default_cache_lives_in_the_kgraph_home(tmp_path):
    env = _env(KGRAPH_HOME=str(tmp_path))
    env.pop("KGRAPH_COMPILATION_CACHE", None)
    _first_epoch(env)
    assert os.listdir(tmp_path / "cache")
