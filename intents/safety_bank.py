"""The safety backstop's bank of example vectors, shipped ready-made so start-up never encodes it.

Encoding the bank (about a thousand sentences) takes seconds on two cores; loading the shipped
vectors takes a millisecond. The file records a fingerprint of the sentences and of the model's
weights: when either changes and the file was not rebuilt, the bank is encoded at start-up and
kept in the cache folder instead (slower, never wrong), and a test fails until it is rebuilt:

    .venv/bin/python -m intents.safety_bank
"""

from __future__ import annotations

import hashlib
import io
import logging
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .cache import cached
from .embedding import load_spec

if TYPE_CHECKING:
    from .safety import Encoder

_LOGGER = logging.getLogger(__name__)
BANK_FILE = "safety_bank.npz"


def fingerprint(rows: list[tuple[str, str, str]]) -> str:
    """Hash of the bank's sentences, in order, and of the model weights that encode them."""
    digest = hashlib.sha256(load_spec().weights.sha256.encode())
    for row in rows:
        digest.update("\t".join(row).encode("utf-8") + b"\n")
    return digest.hexdigest()


def shipped_vectors(rows: list[tuple[str, str, str]]) -> np.ndarray | None:
    """The shipped vectors when they were made from exactly ROWS and these weights, else None."""
    try:
        data = resources.files("intents").joinpath("data", BANK_FILE).read_bytes()
        with np.load(io.BytesIO(data), allow_pickle=False) as bank:
            if str(bank["fingerprint"]) != fingerprint(rows):
                _LOGGER.warning("The shipped safety bank is out of date; encoding it (run "
                                "python -m intents.safety_bank to rebuild it)")
                return None
            return bank["vectors"].astype(np.float32)
    except (OSError, ValueError, KeyError) as error:
        _LOGGER.warning("The shipped safety bank cannot be read (%s); encoding it", error)
        return None


def bank_vectors(encoder: Encoder, rows: list[tuple[str, str, str]]) -> np.ndarray:
    """Unit vectors for ROWS: shipped, else cached on disk, else encoded now."""
    vectors = shipped_vectors(rows)
    if vectors is not None:
        return vectors
    return cached(f"safety-bank-{fingerprint(rows)[:16]}",
                  lambda: encoder.encode([text for _, _, text in rows]))


def build(path: Path) -> int:
    """Encode the current bank and write it to PATH; the number of sentences."""
    from .embedding import load_encoder
    from .safety import bank_examples

    rows = bank_examples()
    vectors = load_encoder().encode([text for _, _, text in rows])
    # float16 halves the file; cosines move by about 1e-3, far below any threshold's margin.
    np.savez_compressed(path, vectors=vectors.astype(np.float16),
                        fingerprint=np.array(fingerprint(rows)))
    return len(rows)


def main() -> int:
    path = Path(str(resources.files("intents").joinpath("data", BANK_FILE)))
    count = build(path)
    print(f"Wrote {count} vectors to {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
