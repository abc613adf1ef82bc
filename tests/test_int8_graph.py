"""The int8 rewrite of the shipped sentence model, run for real in onnxruntime."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from intents.embedding import SentenceEncoder, _tokenizer, load_spec
from intents.int8_graph import GraphRewriteError, int8_products

SENTENCES = ("my face is drooping on one side",
             "why do my legs go numb when I sit cross legged",
             "I slipped on the ice this morning, hit my back and now I can't feel my legs",
             "how do I set an alarm", "numb", "")


def _packaged(package: str, path: str) -> Path:
    for file in metadata.distribution(package).files or ():
        if file.as_posix() == path:
            return Path(str(file.locate()))
    raise LookupError(f"{package} has no {path}")


@pytest.fixture(scope="module")
def shipped() -> bytes:
    spec = load_spec()
    return _packaged(spec.weights.package, spec.weights.path).read_bytes()


def _encoder(model: bytes) -> SentenceEncoder:
    import zipfile

    spec = load_spec()
    with zipfile.ZipFile(_packaged(spec.tokenizer.package, spec.tokenizer.path)) as archive:
        tokenizer = _tokenizer(spec, "test", archive.read(spec.tokenizer.member or ""))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(model, sess_options=options,
                                   providers=["CPUExecutionProvider"])
    return SentenceEncoder(session, tokenizer, spec.dim)


def test_every_weight_product_and_table_runs_in_int8(shipped):
    before = onnx.load_from_string(shipped).graph
    after = onnx.load_from_string(int8_products(shipped)).graph
    ops = [node.op_type for node in after.node]
    # The model's 48 MatMuls: 36 against weights (6 layers of query, key, value, output and
    # the two feed-forward ones), 12 within attention.
    assert [node.op_type for node in before.node].count("MatMul") == 48
    assert ops.count("MatMulInteger") == 36
    assert ops.count("MatMul") == 12  # query x key and attention x value stay in float
    int8_names = {t.name for t in after.initializer if t.data_type == onnx.TensorProto.INT8}
    float_weights = [t.name for t in after.initializer
                     if t.data_type == onnx.TensorProto.FLOAT and len(t.dims) == 2
                     and min(t.dims) >= 384]
    # No float copy of any matrix or table is left for onnxruntime to fold.
    assert float_weights == [] and len(int8_names) == 38
    casts_of_weights = [node for node in after.node
                        if node.op_type == "Cast" and node.input[0] in int8_names]
    assert casts_of_weights == []


def test_vectors_stay_close_to_the_float_products(shipped):
    # Not the empty sentence: two word pieces of markers alone mean nothing (its cosine: 0.98).
    spoken = [text for text in SENTENCES if text]
    exact = _encoder(shipped).encode(spoken)
    fast = _encoder(int8_products(shipped)).encode(spoken)
    cosines = (exact * fast).sum(axis=1)
    assert cosines.min() > 0.99, cosines


def test_a_sentence_gets_the_same_vector_in_any_batch(shipped):
    encoder = _encoder(int8_products(shipped))
    alone = np.vstack([encoder.encode([text]) for text in SENTENCES])
    together = encoder.encode(SENTENCES)
    reversed_ = encoder.encode(SENTENCES[::-1])[::-1]
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_allclose(reversed_, alone, atol=1e-5)


def test_bytes_that_are_not_a_model_are_refused():
    with pytest.raises(GraphRewriteError, match="not an ONNX model"):
        int8_products(b"\x08\x07 not a model")


def test_a_model_with_no_int8_product_is_refused():
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("MatMul", ["x", "w"], ["y"])], "float only",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 2])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 2])],
        [onnx.numpy_helper.from_array(np.eye(2, dtype=np.float32), "w")])
    with pytest.raises(GraphRewriteError, match="no int8 weight"):
        int8_products(onnx.helper.make_model(graph).SerializeToString())
