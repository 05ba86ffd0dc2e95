"""DataParallel and ModelParallel training on 8 host devices, and two processes joined by `initialize`.

JAX fixes its device count when it starts, so every multi-device run happens in a subprocess with
`XLA_FLAGS=--xla_force_host_platform_device_count=N` (multi_device_scenarios.py, multi_process_worker.py);
this process keeps its one device. Each run is compared with the same model trained on one device.
"""

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import kgraph

HERE = Path(__file__).resolve().parent
TOL = 1e-5


def _env() -> dict:
    """The subprocess imports the same kgraph as this process, with a clean device setup."""
    env = dict(os.environ)
    root = str(Path(kgraph.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.pop("XLA_FLAGS", None)
    env["KERAS_BACKEND"] = "jax"
    return env


@pytest.fixture(scope="module")
def runs() -> dict:
    proc = subprocess.run([sys.executable, str(HERE / "multi_device_scenarios.py")], env=_env(),
                          capture_output=True, text=True, timeout=300)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        pytest.fail(f"scenario subprocess failed (rc={proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return {line["name"]: line for line in lines}


def result(runs: dict, name: str) -> dict:
    line = runs[name]
    assert "error" not in line, line["error"]
    return line["result"]


def test_data_parallel_matches_one_device(runs):
    r = result(runs, "data_parallel")
    assert r["keys"] == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert r["loss_diff"] <= TOL, r
    assert r["eval_diff"] <= TOL and r["predict_diff"] <= TOL and r["weights_diff"] <= TOL, r
    assert r["kernel_devices"] == 8 and r["kernel_spec"] == [], r  # replicated on all 8 devices


def test_model_parallel_matches_one_device_and_shards_weights(runs):
    r = result(runs, "model_parallel")
    assert r["loss_diff"] <= TOL and r["predict_diff"] <= TOL, r
    assert r["kernel_spec"] == [None, "model"], r
    assert r["kernel_shape"] == [16, 32] and r["kernel_shard_shape"] == [16, 8], r  # split 4 ways
    assert r["moving_mean_spec"] == ["model"] and r["bias2_spec"] == ["model"], r
    assert r["kernel_slot_specs"] == [[None, "model"], [None, "model"]], r  # Adam's moments follow the kernel


def test_streaming_source_under_data_parallel(runs):
    r = result(runs, "streaming")
    assert r["loss_diff"] <= TOL and r["kernel_devices"] == 8, r


def test_indivisible_batch_size_is_an_error_naming_both_numbers(runs):
    r = result(runs, "indivisible_batch")
    assert "batch_size=12" in r["fit_error"] and "8 devices" in r["fit_error"], r
    assert "size 12" in r["data_sharding_error"] and "8 devices" in r["data_sharding_error"], r
    # all the data in one batch of 10 (train_on_batch) is accepted: it runs replicated
    assert r["train_on_batch_loss_diff"] <= TOL, r


def test_bad_layouts(runs):
    r = result(runs, "bad_layouts")
    assert len(r["warnings"]) == 1 and "'conv2d.*kernel'" in r["warnings"][0], r
    assert "'dense_1/bias'" in r["rank_error"] and "rank 1" in r["rank_error"], r
    assert "'odd'" in r["divisibility_error"] and "size 6" in r["divisibility_error"], r


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _start_workers(port: str, *extra: str) -> list[subprocess.Popen]:
    script = str(HERE / "multi_process_worker.py")
    return [subprocess.Popen([sys.executable, script, port, str(i), *extra], env=_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for i in range(2)]


def _finish(workers: list[subprocess.Popen], timeout: float) -> list[tuple[int, str, str]]:
    """(return code, stdout, stderr) of each worker; a worker still running after `timeout` fails the test."""
    results = []
    try:
        for w in workers:
            out, err = w.communicate(timeout=timeout)
            results.append((w.returncode, out, err))
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    return results


def test_initialize_joins_two_processes_and_matches_one_process_with_the_same_devices():
    workers = _start_workers(str(_free_port()))
    reference = subprocess.run([sys.executable, str(HERE / "multi_process_worker.py"), str(_free_port())],
                               env=_env(), capture_output=True, text=True, timeout=120)
    assert reference.returncode == 0, reference.stderr[-3000:]
    expected = json.loads(reference.stdout.strip().splitlines()[-1])
    assert len(expected["devices"]) == 4, expected
    for returncode, out, err in _finish(workers, timeout=120):
        assert returncode == 0, err[-3000:]
        out = json.loads(out.strip().splitlines()[-1])
        assert out["processes"] == 2 and len(out["devices"]) == 4, out
        assert max(abs(a - b) for a, b in zip(out["loss"], expected["loss"])) <= TOL, (out, expected)


@pytest.mark.slow
def test_a_dead_process_stops_the_other_within_the_heartbeat_timeout():
    workers = _start_workers(str(_free_port()), "die")
    (survivor_rc, _, survivor_err), (dead_rc, dead_out, _) = _finish(workers, timeout=90)
    assert dead_rc == -signal.SIGKILL and '"epoch": 0' in dead_out, dead_out
    assert survivor_rc != 0
    assert "another task died" in survivor_err and "stopped sending heartbeats" in survivor_err, survivor_err[-3000:]
