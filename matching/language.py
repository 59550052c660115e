"""Language of a text, and the correction of multilingual embeddings for it.

A multilingual encoder puts a language-identity component into every vector, so a Chinese
query scores Chinese text higher than English text that says the same thing. Subtracting
each language's mean vector (and renormalising) removes most of that component
(Libovický et al., 2020, "On the language neutrality of pre-trained multilingual
representations").
"""
from __future__ import annotations

import re

import numpy as np

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")

MIN_SAMPLES = 5
"""A language needs this many vectors before its own mean is trusted."""
MIN_TOTAL = 20
"""Below this many vectors a mean says more about the few texts than about the language,
so no correction is made."""


def detect(text: str) -> str:
    """'zh' when Chinese characters carry the text, 'en' otherwise.

    A Chinese text with English terms in it ("AI 质检", "digital twin") is Chinese: one CJK
    character carries about as much as a four-letter word, hence the weight.
    """
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    return "zh" if cjk * 4 >= latin and cjk > 0 else "en"


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class LanguageCentering:
    """Per-language mean removal, fitted on the stored vectors of one kind (prefix)."""

    def __init__(self, means: dict[str, np.ndarray], fallback: np.ndarray):
        self.means = means
        self.fallback = fallback

    @classmethod
    def fit(cls, vectors: np.ndarray, langs: list[str],
            prior: dict[str, np.ndarray] | None = None) -> LanguageCentering:
        """Means of these vectors per language; ``prior`` (means measured once for the model on
        a larger corpus) stands in for a language with too few vectors, and for all of them
        when the corpus is small."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        prior = {lang: np.asarray(v, np.float32) for lang, v in (prior or {}).items()}
        if len(vectors) < MIN_TOTAL:
            fallback = prior.get("zh", np.zeros(vectors.shape[1], np.float32))
            return cls(prior, fallback)
        lang_array = np.asarray(langs)
        means = {
            lang: vectors[lang_array == lang].mean(axis=0)
            for lang in set(langs)
            if (lang_array == lang).sum() >= MIN_SAMPLES
        }
        return cls({**prior, **means}, vectors.mean(axis=0))

    def transform(self, vectors: np.ndarray, langs: list[str]) -> np.ndarray:
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if not len(vectors):
            return vectors
        shift = np.stack([self.means.get(lang, self.fallback) for lang in langs])
        return _normalise(vectors - shift)
