"""Banks of example sentences as vectors, shipped ready-made so start-up never encodes them.

Encoding a bank (one or two thousand sentences) takes seconds on two cores; loading the shipped
vectors takes a millisecond. Each file records a fingerprint of its sentences and of the model's
weights: when either changes and the file was not rebuilt, the bank is encoded at start-up and
kept in the cache folder instead (slower, never wrong), and a test fails until it is rebuilt:

    .venv/bin/python -m intents.banks
"""

from __future__ import annotations

import hashlib
import io
import logging
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .cache import cached
from .embedding import GRAPH, load_spec

if TYPE_CHECKING:
    from .safety import Encoder

_LOGGER = logging.getLogger(__name__)
SAFETY_BANK = "safety_bank.npz"
MEANING_BANK = "meaning_bank.npz"
# A bank row: (label, detail, sentence); only the sentence is encoded, all three are fingerprinted.
Row = tuple[str, str, str]


def fingerprint(rows: Sequence[Row]) -> str:
    """Hash of the bank's rows, in order, and of the model weights and graph that encode them."""
    digest = hashlib.sha256(f"{load_spec().weights.sha256} {GRAPH}".encode())
    for row in rows:
        digest.update("\t".join(row).encode("utf-8") + b"\n")
    return digest.hexdigest()


def shipped_vectors(name: str, rows: Sequence[Row]) -> np.ndarray | None:
    """The shipped vectors of bank NAME when made from exactly ROWS and these weights, else None."""
    try:
        data = resources.files("intents").joinpath("data").joinpath(name).read_bytes()
        with np.load(io.BytesIO(data), allow_pickle=False) as bank:
            if str(bank["fingerprint"]) != fingerprint(rows):
                _LOGGER.warning("The shipped bank %s is out of date; encoding it (run "
                                "python -m intents.banks to rebuild it)", name)
                return None
            return bank["vectors"].astype(np.float32)
    except (OSError, ValueError, KeyError) as error:
        _LOGGER.warning("The shipped bank %s cannot be read (%s); encoding it", name, error)
        return None


def bank_vectors(name: str, encoder: Encoder, rows: Sequence[Row]) -> np.ndarray:
    """Unit vectors for ROWS: shipped, else cached on disk, else encoded now."""
    vectors = shipped_vectors(name, rows)
    if vectors is not None:
        return vectors
    return cached(f"{name.removesuffix('.npz')}-{fingerprint(rows)[:16]}",
                  lambda: encoder.encode([text for _, _, text in rows]))


def build(path: Path, rows: Sequence[Row], encoder: Encoder) -> int:
    """Encode ROWS and write them to PATH; the number of sentences."""
    vectors = encoder.encode([text for _, _, text in rows])
    # float16 halves the file; cosines move by about 1e-3, far below any threshold's margin.
    np.savez_compressed(path, vectors=vectors.astype(np.float16),
                        fingerprint=np.array(fingerprint(rows)))
    return len(rows)


def _sources() -> dict[str, Callable[[], list[Row]]]:
    from .meaning import bank_rows
    from .safety import bank_examples

    return {SAFETY_BANK: bank_examples, MEANING_BANK: bank_rows}


def main() -> int:
    from .embedding import load_encoder

    encoder = load_encoder()
    for name, rows in _sources().items():
        path = Path(str(resources.files("intents").joinpath("data").joinpath(name)))
        print(f"Wrote {build(path, rows(), encoder)} vectors to {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
