"""kgraph.config: kgraph.json created, read, ignored when corrupt, rejected when a value is bad; setters validate."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kgraph import config

REPO = Path(__file__).resolve().parents[1]
KERAS_KEYS = {"floatx", "epsilon", "backend", "image_data_format"}
PROBE = """
import json, kgraph.config as c
print(json.dumps({"home": str(c.home()), "floatx": c.floatx(), "epsilon": c.epsilon(),
                  "image_data_format": c.image_data_format(), "backend": c.backend()}))
"""


def run_config(tmp_path: Path, home: Path | None, **env: str) -> subprocess.CompletedProcess:
    """Import kgraph.config in a fresh interpreter with KGRAPH_HOME=home (unset if None) and TMPDIR in tmp_path."""
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir(exist_ok=True)
    environ = {k: v for k, v in os.environ.items() if k != "KGRAPH_HOME"}
    environ.update(PYTHONPATH=str(REPO), TMPDIR=str(tmpdir), **env)
    if home is not None:
        environ["KGRAPH_HOME"] = str(home)
    return subprocess.run([sys.executable, "-c", PROBE], env=environ, capture_output=True, text=True, timeout=120)


def settings(tmp_path: Path, home: Path | None, **env: str) -> dict:
    result = run_config(tmp_path, home, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


DEFAULTS = {"floatx": "float32", "epsilon": 1e-7, "image_data_format": "channels_last", "backend": "jax"}


def test_default_file_is_created_with_keras_keys(tmp_path):
    home = tmp_path / "not" / "yet" / "home"
    assert settings(tmp_path, home) == {"home": str(home), **DEFAULTS}
    assert json.loads((home / "kgraph.json").read_text()) == DEFAULTS
    assert set(json.loads((home / "kgraph.json").read_text())) == KERAS_KEYS
    assert os.listdir(home) == ["kgraph.json"]  # no temp file left behind


def test_home_defaults_to_dot_kgraph_under_the_user_home(tmp_path):
    assert settings(tmp_path, None, HOME=str(tmp_path))["home"] == str(tmp_path / ".kgraph")
    assert (tmp_path / ".kgraph" / "kgraph.json").is_file()


def test_values_are_read_back(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    stored = {"floatx": "float64", "epsilon": 1e-5, "image_data_format": "channels_first", "backend": "jax"}
    text = json.dumps(stored)
    (home / "kgraph.json").write_text(text)
    assert settings(tmp_path, home) == {"home": str(home), **stored}
    assert (home / "kgraph.json").read_text() == text  # not rewritten


def test_partial_file_keeps_other_defaults(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "kgraph.json").write_text('{"floatx": "bfloat16", "unknown": 3}')
    assert settings(tmp_path, home) == {"home": str(home), **DEFAULTS, "floatx": "bfloat16"}


def test_read_only_home_falls_back_to_the_temp_dir(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o500)
    try:
        if os.access(home, os.W_OK):
            pytest.skip("running as root: chmod does not stop writes")
        fallback = tmp_path / "tmpdir" / ".kgraph"
        assert settings(tmp_path, home) == {"home": str(fallback), **DEFAULTS}
        assert json.loads((fallback / "kgraph.json").read_text()) == DEFAULTS
    finally:
        home.chmod(0o700)


def test_home_that_cannot_be_created_falls_back_to_the_temp_dir(tmp_path):
    (tmp_path / "a-file").write_text("")
    fallback = tmp_path / "tmpdir" / ".kgraph"
    assert settings(tmp_path, tmp_path / "a-file" / "home") == {"home": str(fallback), **DEFAULTS}
    assert json.loads((fallback / "kgraph.json").read_text()) == DEFAULTS


@pytest.mark.parametrize("text", ["{not json", "", "[1, 2]", "\xff\xfe"])
def test_corrupt_file_is_ignored(tmp_path, text):
    home = tmp_path / "home"
    home.mkdir()
    (home / "kgraph.json").write_text(text, encoding="latin-1")
    assert settings(tmp_path, home) == {"home": str(home), **DEFAULTS}
    assert (home / "kgraph.json").read_text(encoding="latin-1") == text  # left as the user wrote it


@pytest.mark.parametrize(
    "stored, expected",
    [
        ({"floatx": "float8"}, ["floatx must be one of", "'float16', 'float32', 'float64'", "got 'float8'"]),
        ({"image_data_format": "nhwc"}, ["image_data_format must be one of", "'channels_last'", "got 'nhwc'"]),
        ({"epsilon": "small"}, ["epsilon must be a finite number >= 0", "got 'small'"]),
        ({"backend": "torch"}, ["backend must be one of 'jax'", "got 'torch'"]),
    ],
)
def test_bad_value_raises_naming_key_value_and_choices(tmp_path, stored, expected):
    home = tmp_path / "home"
    home.mkdir()
    (home / "kgraph.json").write_text(json.dumps(stored))
    result = run_config(tmp_path, home)
    assert result.returncode != 0
    assert "ValueError" in result.stderr and str(home / "kgraph.json") in result.stderr
    for part in expected:
        assert part in result.stderr, (part, result.stderr)


@pytest.fixture
def restore_settings():
    saved = config.floatx(), config.epsilon(), config.image_data_format()
    yield
    config.set_floatx(saved[0])
    config.set_epsilon(saved[1])
    config.set_image_data_format(saved[2])


def test_setters_set_and_validate(restore_settings):
    config.set_floatx("float16")
    config.set_epsilon(1e-3)
    config.set_image_data_format("channels_first")
    assert (config.floatx(), config.epsilon(), config.image_data_format()) == ("float16", 1e-3, "channels_first")
    choices = "'bfloat16', 'float16', 'float32', 'float64'"
    with pytest.raises(ValueError, match=f"floatx must be one of {choices}; got 'float8'"):
        config.set_floatx("float8")
    with pytest.raises(ValueError, match=r"image_data_format must be one of .*; got 'NHWC'"):
        config.set_image_data_format("NHWC")
    for bad in (-1.0, float("nan"), True, "1e-7"):
        with pytest.raises(ValueError, match="epsilon must be a finite number >= 0"):
            config.set_epsilon(bad)
    assert (config.floatx(), config.epsilon(), config.image_data_format()) == ("float16", 1e-3, "channels_first")
    assert config.backend() == "jax"
