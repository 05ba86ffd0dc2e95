"""The persistent compilation cache: a second process's first epoch loads its executables instead of compiling."""

import json
import os
import subprocess
import sys

SCRIPT = """
import json
import jax
import numpy as np

events = []
jax.monitoring.register_event_listener(lambda name, **kw: events.append(name))
import kgraph as keras

keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(3)])
model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
x = np.random.default_rng(0).random((96, 20), dtype=np.float32)
model.fit(x, np.arange(96) % 3, batch_size=32, epochs=1, verbose=0)
print("EVENTS " + json.dumps(events))
"""


def _first_epoch_events(env: dict) -> list[str]:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    line = [l for l in done.stdout.splitlines() if l.startswith("EVENTS ")][-1]
    return json.loads(line[len("EVENTS "):])


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    env["PYTHONPATH"] = os.getcwd() + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def test_a_second_process_loads_the_first_epoch_from_the_cache(tmp_path):
    env = _env(KGRAPH_COMPILATION_CACHE=str(tmp_path / "cache"))
    cold = _first_epoch_events(env)
    assert "/jax/compilation_cache/cache_misses" in cold
    assert os.listdir(tmp_path / "cache")
    warm = _first_epoch_events(env)
    assert warm.count("/jax/compilation_cache/cache_hits") >= 1
    assert "/jax/compilation_cache/cache_misses" not in warm


def test_zero_turns_the_cache_off(tmp_path):
    events = _first_epoch_events(_env(KGRAPH_COMPILATION_CACHE="0", KGRAPH_HOME=str(tmp_path)))
    assert "/jax/compilation_cache/cache_hits" not in events
    assert "/jax/compilation_cache/cache_misses" not in events
    assert not (tmp_path / "cache").exists()


def test_the_default_cache_lives_in_the_kgraph_home(tmp_path):
    env = _env(KGRAPH_HOME=str(tmp_path))
    env.pop("KGRAPH_COMPILATION_CACHE", None)
    _first_epoch_events(env)
    assert os.listdir(tmp_path / "cache")
