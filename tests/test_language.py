"""Language detection and the correction of language bias in embeddings."""
from __future__ import annotations

import numpy as np
import pytest

from matching.language import LanguageCentering, detect


@pytest.mark.parametrize(
    "text, lang",
    [
        ("城市道路路面病害智能巡检", "zh"),
        ("AI 质检系统，支持 digital twin 建模", "zh"),
        ("Drone-based pavement crack detection for 无锡", "en"),
        ("Temperature-controlled specimen delivery by drone", "en"),
        ("12345", "en"),
    ],
)
def test_detect(text: str, lang: str) -> None:
    assert detect(text) == lang


def test_centering_lets_a_cross_language_twin_outrank_same_language_noise() -> None:
    """Each vector = topic + a strong language component; after correction, the English text
    on the same topic is nearer than Chinese texts on other topics."""
    rng = np.random.default_rng(7)
    dim, topics = 64, 30
    topic = rng.standard_normal((topics, dim))
    lang_axis = {"zh": rng.standard_normal(dim) * 3, "en": rng.standard_normal(dim) * 3}
    rows, langs = [], []
    for t in range(topics):
        for lang in ("zh", "en"):
            rows.append(topic[t] + lang_axis[lang] + 0.1 * rng.standard_normal(dim))
            langs.append(lang)
    vectors = np.asarray(rows, np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    zh, en = vectors[0::2], vectors[1::2]

    def twin_is_first(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
        """Share of Chinese rows whose English twin beats every other Chinese row."""
        twin = (a * b).sum(axis=1)
        others = a @ c.T
        np.fill_diagonal(others, -np.inf)
        return float((twin > others.max(axis=1)).mean())

    assert twin_is_first(zh, en, zh) < 0.2  # the bias the correction is for
    corrected = LanguageCentering.fit(vectors, langs).transform(vectors, langs)
    assert twin_is_first(corrected[0::2], corrected[1::2], corrected[0::2]) > 0.9
    assert np.allclose(np.linalg.norm(corrected, axis=1), 1.0, atol=1e-5)


def test_no_correction_on_a_handful_of_vectors() -> None:
    vectors = np.eye(4, dtype=np.float32)
    centering = LanguageCentering.fit(vectors, ["zh"] * 4)
    np.testing.assert_allclose(centering.transform(vectors, ["zh"] * 4), vectors)
