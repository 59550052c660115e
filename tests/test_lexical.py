"""Chinese/English tokens, BM25 and shared key terms."""
from __future__ import annotations

import numpy as np

from matching.lexical import LexicalIndex, tokenize


def test_tokenize_segments_chinese_and_keeps_english_terms() -> None:
    tokens = tokenize("太湖蓝藻水华监测预警，支持 Digital Twin 与 AI 质检；准确率不低于90%")
    assert {"蓝藻", "监测", "预警", "digital", "twin", "ai", "质检"} <= set(tokens)
    assert not {"的", "与", "90", "不低于", "，"} & set(tokens)


def test_full_width_text_tokenizes_like_half_width() -> None:
    assert tokenize("ＡＩ质检") == tokenize("AI质检")


def test_bm25_prefers_the_document_sharing_rare_terms() -> None:
    docs = ["蓝藻水华卫星遥感监测", "工业废水在线监测", "道路裂缝识别", "无人机巡检"]
    index = LexicalIndex([tokenize(d) for d in docs])
    scores = index.scores(tokenize("太湖蓝藻监测"))
    assert int(np.argmax(scores)) == 0
    assert scores[2] == 0 and scores[3] == 0
    assert index.scores(tokenize("完全无关的词汇")).max() == 0


def test_shared_terms_put_rare_words_first() -> None:
    docs = [tokenize(d) for d in ["无人机 平台 巡检", "无人机 样本 转运", "无人机 植保", "无人机 测绘"]]
    index = LexicalIndex(docs)
    assert index.shared_terms(tokenize("医疗样本无人机转运"), docs[1])[0] in {"样本", "转运"}
    assert index.shared_terms(tokenize("医疗样本无人机转运"), docs[1])[-1] == "无人机"


def test_empty_documents_keep_their_positions() -> None:
    index = LexicalIndex([[], tokenize("蓝藻监测"), []])
    scores = index.scores(tokenize("蓝藻"))
    assert len(scores) == 3 and int(np.argmax(scores)) == 1
