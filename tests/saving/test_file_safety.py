"""Bad and hostile files give clear errors and leave models untouched; writes are atomic."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import kgraph
from kgraph import saving
from kgraph.saving import file_io, weights_io


def small_model(units=3, name=None):
    inputs = kgraph.Input((4,), name="x")
    hidden = kgraph.layers.Dense(units, name="hidden")(inputs)
    return kgraph.Model(inputs, kgraph.layers.Dense(2, name="out")(hidden), name=name)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = small_model()
    path = tmp_path_factory.mktemp("saved") / "m.keras"
    model.save(path)
    return model, path


def rewrite(source: Path, target: Path, replace: dict | None = None, extra: dict | None = None) -> Path:
    """A copy of the archive `source` with some members replaced or added."""
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members.update(replace or {})
    members.update(extra or {})
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def test_truncated_zip(saved, tmp_path):
    _, path = saved
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"truncated\.keras.*truncated or corrupt"):
        saving.load_model(truncated)


def test_not_a_model_file(tmp_path):
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"hello")
    with pytest.raises(ValueError, match="junk.keras"):
        saving.load_model(junk)
    with pytest.raises(FileNotFoundError):
        saving.load_model(tmp_path / "missing.keras")


def test_wrong_weights_layout(saved, tmp_path):
    import h5py
    import io

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.create_dataset("something/else", data=np.zeros(3))
    bad = rewrite(saved[1], tmp_path / "layout.keras", {"model.weights.h5": buffer.getvalue()})
    with pytest.raises(ValueError, match=r"layout\.keras.*weights layout"):
        saving.load_model(bad)
    h5 = tmp_path / "layout.weights.h5"
    h5.write_bytes(buffer.getvalue())
    model = small_model()
    with pytest.raises(ValueError, match=r"layout\.weights\.h5.*weights layout"):
        model.load_weights(h5)


def test_missing_group_for_a_layer(saved, tmp_path):
    import h5py
    import io

    with zipfile.ZipFile(saved[1]) as archive:
        data = archive.read("model.weights.h5")
    buffer = io.BytesIO(data)
    with h5py.File(buffer, "a") as f:
        del f["layers/dense_1"]
    bad = rewrite(saved[1], tmp_path / "nogroup.keras", {"model.weights.h5": buffer.getvalue()})
    with pytest.raises(ValueError, match=r"Dense 'out'.*no group 'layers/dense_1/vars'"):
        saving.load_model(bad)


def test_unknown_layer_names_it_and_how_to_register(saved, tmp_path):
    with zipfile.ZipFile(saved[1]) as archive:
        config = json.loads(archive.read("config.json"))
    config["config"]["layers"][1]["class_name"] = "AttentionLayer"
    config["config"]["layers"][1]["module"] = "my_project.layers"
    bad = rewrite(saved[1], tmp_path / "unknown.keras", {"config.json": json.dumps(config).encode()})
    with pytest.raises(ValueError) as info:
        saving.load_model(bad)
    message = str(info.value)
    assert "unknown.keras" in message and "'AttentionLayer'" in message
    assert "custom_objects" in message and "register_keras_serializable" in message


def test_shape_mismatch_names_layer_variable_and_shapes_and_leaves_model_untouched(tmp_path):
    small_model(units=3).save_weights(tmp_path / "w.weights.h5")
    target = small_model(units=5)
    before = target.get_weights()
    with pytest.raises(ValueError) as info:
        target.load_weights(tmp_path / "w.weights.h5")
    message = str(info.value)
    assert "w.weights.h5" in message and "'hidden'" in message and "'kernel'" in message
    assert "(4, 5)" in message and "(4, 3)" in message
    for a, b in zip(before, target.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_future_format_version(saved, tmp_path):
    metadata = {"keras_version": "9.0.0", "producer": "kgraph", "kgraph_version": "9.0.0", "format_version": 99}
    bad = rewrite(saved[1], tmp_path / "future.keras", {"metadata.json": json.dumps(metadata).encode()})
    with pytest.raises(ValueError, match=r"future\.keras.*format version 99.*Upgrade kgraph"):
        saving.load_model(bad)
    keras_future = rewrite(saved[1], tmp_path / "keras4.keras",
                           {"metadata.json": json.dumps({"keras_version": "4.1.0"}).encode()})
    with pytest.raises(ValueError, match="Keras 4.1.0"):
        saving.load_model(keras_future)


@pytest.mark.parametrize("member", ["../evil.txt", "/etc/evil", "a/../../evil"])
def test_members_with_escaping_paths_are_refused(saved, tmp_path, member):
    bad = rewrite(saved[1], tmp_path / "escape.keras", extra={member: b"x"})
    with pytest.raises(ValueError, match="refusing the archive member"):
        saving.load_model(bad)
    with pytest.raises(ValueError, match="refusing the archive member"):
        small_model().load_weights(bad)


def test_config_size_is_bounded(saved, monkeypatch):
    monkeypatch.setattr(file_io, "MAX_CONFIG_BYTES", 100)
    with pytest.raises(ValueError, match="limit"):
        saving.load_model(saved[1])


def test_non_numeric_weights_and_deep_configs_are_refused(saved, tmp_path):
    import h5py
    import io

    with zipfile.ZipFile(saved[1]) as archive:
        buffer = io.BytesIO(archive.read("model.weights.h5"))
    with h5py.File(buffer, "a") as f:
        del f["layers/dense/vars/1"]
        f["layers/dense/vars"].create_dataset("1", data=np.array([b"a", b"b", b"c"], dtype=object),
                                              dtype=h5py.string_dtype())
    bad = rewrite(saved[1], tmp_path / "strings.keras", {"model.weights.h5": buffer.getvalue()})
    with pytest.raises(ValueError, match="layers/dense/vars/1 has dtype .* not a numeric one"):
        saving.load_model(bad)
    deep = rewrite(saved[1], tmp_path / "deep.keras", {"config.json": b"[" * 100000 + b"]" * 100000})
    with pytest.raises(ValueError, match="deep"):
        saving.load_model(deep)


def test_invalid_json_and_missing_members(saved, tmp_path):
    bad = rewrite(saved[1], tmp_path / "json.keras", {"config.json": b"{not json"})
    with pytest.raises(ValueError, match=r"json\.keras.*not valid JSON"):
        saving.load_model(bad)
    with zipfile.ZipFile(tmp_path / "empty.keras", "w") as archive:
        archive.writestr("config.json", "{}")
    with pytest.raises(ValueError, match="model.weights.h5"):
        saving.load_model(tmp_path / "empty.keras")


def named(x):
    return x * 3.0


def test_lambda_bytecode_needs_safe_mode_false(tmp_path):
    inputs = kgraph.Input((2,))
    model = kgraph.Model(inputs, kgraph.layers.Lambda(lambda t: t * 2.0)(inputs))
    with pytest.warns(UserWarning):
        model.save(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match=r"lambda\.keras.*safe_mode=False"):
        saving.load_model(tmp_path / "lambda.keras")
    loaded = saving.load_model(tmp_path / "lambda.keras", safe_mode=False)
    np.testing.assert_allclose(loaded.predict(np.ones((1, 2), np.float32), verbose=0), [[2.0, 2.0]])


def test_functions_are_found_by_registration_not_by_importing_modules(tmp_path):
    inputs = kgraph.Input((2,))
    kgraph.Model(inputs, kgraph.layers.Lambda(named)(inputs)).save(tmp_path / "named.keras")
    with pytest.raises(ValueError, match=r"named\.keras.*Unknown function 'named'.*custom_objects"):
        saving.load_model(tmp_path / "named.keras")
    ones = np.ones((1, 2), np.float32)
    for loaded in (saving.load_model(tmp_path / "named.keras", custom_objects={"named": named}),
                   saving.load_model(tmp_path / "named.keras", safe_mode=False)):
        np.testing.assert_allclose(loaded.predict(ones, verbose=0), [[3.0, 3.0]])


def test_failed_write_keeps_the_previous_file_and_leaves_no_temp(saved, tmp_path, monkeypatch):
    model, path = saved
    target = tmp_path / "m.keras"
    target.write_bytes(path.read_bytes())
    original = target.read_bytes()

    def explode(*args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(weights_io, "weights_bytes", explode)
    with pytest.raises(RuntimeError):
        model.save(target)
    monkeypatch.undo()
    monkeypatch.setattr(os, "replace", lambda *args: explode())  # dies after writing the temp file, before rename
    with pytest.raises(RuntimeError):
        model.save(target)
    with pytest.raises(RuntimeError):
        model.save_weights(tmp_path / "w.weights.h5")
    monkeypatch.undo()
    assert target.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]


CHILD = textwrap.dedent("""
    import sys
    import kgraph
    from kgraph.saving import save_model
    inputs = kgraph.Input((64,))
    model = kgraph.Model(inputs, kgraph.layers.Dense(256)(kgraph.layers.Dense(256)(inputs)))
    save_model(model, sys.argv[1])
    print("ready", flush=True)
    while True:
        save_model(model, sys.argv[1])
""")


def test_kill_mid_save_never_leaves_a_torn_file(tmp_path):
    target = tmp_path / "busy.keras"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(target)], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[2])
    try:
        assert child.stdout.readline().strip() == "ready"
        for delay in (0.01, 0.07, 0.13):
            time.sleep(delay)
            child.send_signal(signal.SIGSTOP)  # freeze mid-save, check, go on
            with zipfile.ZipFile(target) as archive:
                assert archive.testzip() is None
            child.send_signal(signal.SIGCONT)
        child.kill()
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
    loaded = saving.load_model(target)
    assert [w.shape for w in loaded.weights] == [(64, 256), (256,), (256, 256), (256,)]
