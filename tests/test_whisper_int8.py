"""Whisper's weights stored in int8 ahead of time (voice/asr/whisper_int8.py): the copy computes
exactly what CTranslate2 computes from the float16 weights, a damaged copy is never used, and
the model file's format is read and written faithfully."""

from __future__ import annotations

import logging
import struct

import ctranslate2
import numpy as np
import pytest

from tests.speech import pcm16, speak, to_16k
from voice.asr.whisper_engine import (
    COMPUTE_TYPE,
    WEIGHTS_FILE,
    WhisperRecognizer,
    find_model,
    load_prompt,
    prepare_int8_copy,
)
from voice.asr.whisper_int8 import ModelFormatError, _read, _written, prepared_copy


@pytest.fixture(scope="module")
def original():
    return find_model()


@pytest.fixture()
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMB_LEGS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_model_file_is_written_back_byte_for_byte(original):
    folder, _ = original
    data = (folder / WEIGHTS_FILE).read_bytes()
    model = _read(data)
    assert len(model.variables) > 100 and model.name == "WhisperSpec"
    assert b"".join(_written(model, model.variables)) == data


def test_an_unknown_format_is_refused_not_misread(original):
    folder, _ = original
    data = bytearray((folder / WEIGHTS_FILE).read_bytes()[:4096])
    with pytest.raises(ModelFormatError, match="format 7"):
        _read(struct.pack("I", 7) + bytes(data[4:]))
    with pytest.raises(ModelFormatError):
        _read(bytes(data))  # cut short


def test_weights_in_another_format_get_no_copy_and_prepare_goes_on(original, own_cache,
                                                                    tmp_path):
    from voice.asr.whisper_int8 import prepare_copy

    folder, _ = original
    other = tmp_path / "other"
    other.mkdir()
    data = (folder / WEIGHTS_FILE).read_bytes()
    (other / WEIGHTS_FILE).write_bytes(struct.pack("I", 7) + data[4:])
    assert prepare_copy(other, "0" * 64) is None
    assert prepared_copy("0" * 64) is None


def test_the_int8_copy_computes_exactly_what_ctranslate2_computes_from_float16(original,
                                                                                own_cache):
    folder, spec = original
    copy = prepare_int8_copy()
    assert copy is not None and copy == prepared_copy(spec.sha256)
    assert (copy / WEIGHTS_FILE).stat().st_size < (folder / WEIGHTS_FILE).stat().st_size * 0.6
    features = np.random.default_rng(7).standard_normal((1, 80, 3000)).astype(np.float32) * 0.5
    outputs = []
    for place in (folder, copy):
        model = ctranslate2.models.Whisper(str(place), device="cpu", compute_type=COMPUTE_TYPE,
                                           intra_threads=1)
        encoded = np.array(model.encode(ctranslate2.StorageView.from_array(features)))
        result = model.generate(ctranslate2.StorageView.from_array(features), [[50257, 50362]],
                                beam_size=5, max_length=24, return_scores=True)[0]
        outputs.append((encoded, result.sequences_ids, result.scores))
    assert np.array_equal(outputs[0][0], outputs[1][0])
    assert outputs[0][1:] == outputs[1][1:]


def test_whisper_hears_the_same_from_the_copy_and_the_original(original, own_cache, tmp_path,
                                                              monkeypatch):
    folder, _ = original
    clips = [pcm16(to_16k(speak(text, tmp_path / f"{i}.wav", voice, 150),
                          tmp_path / f"{i}16.wav"))
             for i, (text, voice) in enumerate((("my face is drooping on one side", "en-gb+f3"),
                                                ("how do I get the feeling back", "en-us+m7")))]
    prepare_int8_copy()
    heard = {}
    for cache in (own_cache, tmp_path / "no-cache"):
        monkeypatch.setenv("NUMB_LEGS_CACHE_DIR", str(cache))
        whisper = WhisperRecognizer(prompt=load_prompt())
        heard[whisper.weights_folder != folder] = [whisper.hear(clip) for clip in clips]
    assert set(heard) == {True, False}  # one loaded the copy, the other the original
    assert heard[True] == heard[False] and all(h.text for h in heard[True])


def test_a_damaged_copy_is_never_loaded(original, own_cache):
    folder, spec = original
    copy = prepare_int8_copy()
    weights = copy / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x40  # one bit, inside a weight
    weights.write_bytes(bytes(data))
    assert prepared_copy(spec.sha256) is None
    assert WhisperRecognizer().weights_folder == folder
    # prepare builds it again.
    assert prepare_int8_copy() == copy and prepared_copy(spec.sha256) == copy


def test_a_copy_ctranslate2_cannot_load_falls_back_to_the_original(original, own_cache, caplog):
    from intents.cache import seal_files

    folder, _ = original
    copy = prepare_int8_copy()
    (copy / WEIGHTS_FILE).write_bytes(b"\x06\x00\x00\x00 not a model")
    seal_files(copy, [path.name for path in copy.iterdir() if path.name != "SHA256SUMS"])
    with caplog.at_level(logging.WARNING, logger="voice.asr.whisper_engine"):
        whisper = WhisperRecognizer()
    assert whisper.weights_folder == folder
    assert "int8 copy" in caplog.text
