"""Hostile and malformed files for every reader: random bytes, wrong member types, oversized declarations, foreign
classes, decompression bombs. Each is a ValueError naming the file, raised before anything large is allocated."""

from __future__ import annotations

import json
import zipfile

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kgraph
from kgraph import saving
from kgraph.runtime.onnx import OnnxModel
from kgraph.saving import file_io

HUGE_UNITS = 2**40  # a Dense kernel of (4, 2**40) float32 would be 16 TiB


def tiny_model():
    inputs = kgraph.Input((4,), name="x")
    return kgraph.Model(inputs, kgraph.layers.Dense(2, name="out")(inputs), name="tiny")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    model = tiny_model()
    model.save(folder / "model.keras")
    model.save(folder / "model.h5")
    model.save_weights(folder / "model.weights.h5")
    model.export(folder / "model.onnx")
    return folder


def members_of(path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_archive(path, members: dict, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def with_config(saved, tmp_path, edit) -> str:
    """A copy of the saved .keras whose config.json is `edit(config)`."""
    members = members_of(saved / "model.keras")
    config = json.loads(members["config.json"])
    members["config.json"] = json.dumps(edit(config)).encode()
    return str(write_archive(tmp_path / "edited.keras", members))


def huge_units(config: dict) -> dict:
    config["config"]["layers"][1]["config"]["units"] = HUGE_UNITS
    return config


def test_keras_file_declaring_a_huge_dense_is_refused_before_allocating(saved, tmp_path):
    path = with_config(saved, tmp_path, huge_units)
    with pytest.raises(ValueError, match=r"(?s)edited\.keras.*Layer 'out': weight 'kernel' is declared with shape "
                                         rf"\(4, {HUGE_UNITS}\) .* but .*edited\.keras holds only [\d,]+ bytes"):
        saving.load_model(path)


def test_unzipped_folder_declaring_a_huge_dense_is_refused_before_allocating(tmp_path):
    folder = tmp_path / "folder.keras"
    tiny_model().save(folder, zipped=False)
    config = folder / "config.json"
    config.write_text(json.dumps(huge_units(json.loads(config.read_text()))))
    with pytest.raises(ValueError, match=rf"(?s)Layer 'out': weight 'kernel' is declared with shape \(4, {HUGE_UNITS}\)"
                                         r".* but .*folder\.keras holds only"):
        saving.load_model(folder)


def test_legacy_h5_declaring_a_huge_dense_is_refused_before_allocating(saved, tmp_path):
    path = tmp_path / "huge.h5"
    path.write_bytes((saved / "model.h5").read_bytes())
    with h5py.File(path, "a") as f:
        f.attrs["model_config"] = json.dumps(huge_units(json.loads(f.attrs["model_config"])))
    with pytest.raises(ValueError, match=rf"(?s)huge\.h5.*Layer 'out': weight 'kernel' is declared with shape \(4, {HUGE_UNITS}\)"):
        saving.load_model(path)


def test_weights_file_declaring_a_huge_dataset_is_refused_without_reading_it(saved, tmp_path):
    path = tmp_path / "huge.weights.h5"
    path.write_bytes((saved / "model.weights.h5").read_bytes())
    with h5py.File(path, "a") as f:
        del f["layers/dense/vars/0"]
        f["layers/dense/vars"].create_dataset("0", shape=(4, HUGE_UNITS), dtype="float32", chunks=(4, 1024))
    with pytest.raises(ValueError, match=rf"(?s)huge\.weights\.h5.*Dense 'out'.*/layers/dense/vars/0 declares shape "
                                         rf"\(4, {HUGE_UNITS}\) .* but stores 0 bytes; refusing to inflate it"):
        tiny_model().load_weights(path)


@pytest.mark.parametrize("member, content, kind, message", [
    ("config.json", b"[1, 2, 3]", ValueError, r"config\.json must hold a JSON object describing the model"),
    ("config.json", b'{"class_name": "Functional", "config": 7}', TypeError,
     r"The config of 'Functional' must be a dict, got int"),
    ("metadata.json", b"[]", ValueError, r"metadata\.json must hold a JSON object"),
    ("model.weights.h5", b"not hdf5 at all", ValueError, r"model\.weights\.h5\) is not a readable HDF5 file"),
    ("assets/../../escape.txt", b"x", ValueError, r"refusing the archive member 'assets/\.\./\.\./escape\.txt'"),
], ids=["config-list", "config-wrong-types", "metadata-list", "weights-not-hdf5", "asset-traversal"])
def test_keras_file_with_a_member_of_the_wrong_type(saved, tmp_path, member, content, kind, message):
    members = members_of(saved / "model.keras")
    members[member] = content
    path = write_archive(tmp_path / "member.keras", members)
    with pytest.raises(kind, match=r"member\.keras.*" + message):
        saving.load_model(path)


@pytest.mark.parametrize("class_name, module", [("system", "os"), ("Popen", "subprocess"), ("Dense", "evil.layers")])
def test_foreign_classes_are_never_imported(saved, tmp_path, class_name, module):
    def foreign(config):
        config["config"]["layers"][1].update(class_name=class_name, module=module)
        return config

    with pytest.raises(ValueError, match=rf"edited\.keras.*'{class_name}'") as info:
        saving.load_model(with_config(saved, tmp_path, foreign))
    assert "custom_objects" in str(info.value)


def test_a_decompression_bomb_is_refused_before_inflating(saved, tmp_path, monkeypatch):
    monkeypatch.setattr(file_io, "INFLATION_FLOOR_BYTES", 1024 * 1024)
    members = members_of(saved / "model.keras")
    members["model.weights.h5"] = bytes(16 * 1024 * 1024)
    path = write_archive(tmp_path / "bomb.keras", members, zipfile.ZIP_DEFLATED)
    with pytest.raises(ValueError, match=r"bomb\.keras: model\.weights\.h5 inflates from \d+ to 16777216 bytes; "
                                         "refusing a likely decompression bomb"):
        saving.load_model(path)


@pytest.mark.parametrize("text, message", [
    ("{not json", r"the JSON string: config\.json is not valid JSON"),
    ("[]", r"the JSON string: config\.json must hold a JSON object"),
    ("12", r"the JSON string: config\.json must hold a JSON object"),
    ('{"config": {}}', r"Cannot load the JSON string: its config describes a dict, not a model"),
    ('{"class_name": "Popen", "module": "subprocess", "config": {}}', r"Cannot load the JSON string: .*'Popen'"),
])
def test_model_from_json_refuses_bad_json(text, message):
    with pytest.raises(ValueError, match=message):
        saving.model_from_json(text)


PREFIXES = st.sampled_from([b"", b"PK\x03\x04", b"\x89HDF\r\n\x1a\n", b"\x08\x07\x12\x07"])
RANDOM_FILES = st.tuples(PREFIXES, st.binary(max_size=1024)).map(lambda parts: parts[0] + parts[1])


def _load(kind: str, path):
    if kind == "onnx":
        return OnnxModel(path)
    if kind == "weights.h5":
        return tiny_model().load_weights(path)
    return saving.load_model(path)


@pytest.mark.parametrize("kind", ["keras", "weights.h5", "h5", "onnx"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=RANDOM_FILES)
def test_random_bytes_are_a_clear_error_naming_the_file(tmp_path, kind, content):
    path = tmp_path / f"random.{kind}"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=rf"random\.{kind.replace('.', '[.]')}"):
        _load(kind, path)


@pytest.mark.parametrize("kind", ["keras", "weights.h5", "h5", "onnx"])
def test_truncated_files_are_a_clear_error_naming_the_file(saved, tmp_path, kind):
    data = (saved / f"model.{kind}").read_bytes()
    path = tmp_path / f"cut.{kind}"
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ValueError, match=rf"cut\.{kind.replace('.', '[.]')}"):
        _load(kind, path)


@pytest.mark.parametrize("kind", ["keras", "weights.h5", "h5"])
def test_missing_files_are_file_not_found(tmp_path, kind):
    with pytest.raises(FileNotFoundError, match=rf"absent\.{kind.replace('.', '[.]')}"):
        _load(kind, tmp_path / f"absent.{kind}")


def test_an_intact_file_still_loads_after_the_checks(saved):
    model = saving.load_model(saved / "model.keras")
    x = np.ones((2, 4), "float32")
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(saving.load_model(saved / "model.h5").predict(x, verbose=0), expected)
    np.testing.assert_allclose(np.asarray(OnnxModel(saved / "model.onnx").predict(x)), expected, rtol=1e-5, atol=1e-6)
