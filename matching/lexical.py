"""Lexical evidence: Chinese word segmentation (jieba), BM25 (bm25s) and shared key terms."""
from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

import bm25s
import jieba
import numpy as np

jieba.setLogLevel(logging.WARNING)

_STOPWORDS = frozenset(
    """的 了 和 与 及 或 等 在 对 为 是 将 由 向 从 以 并 其 该 可 能 可以 进行 实现 通过 提供 支持
    具备 相关 需要 要求 一个 一套 一种 以及 包括 基于 开展 利用 提升 加强 推进 建设 系统 平台 能力 技术
    解决方案 方案 服务 应用 场景 项目 企业 单位 我们 目前 现有 问题 不 不少 不低于 低于 不超过 超过 以上 以下
    a an and are as at be by for from in into is it of on or that the to with we our can
    its this using based via system platform solution solutions service services""".split()
)
_TOKEN = re.compile(r"[\w\-+.]+", re.UNICODE)
_DIGITS = re.compile(r"^[\d.%\-+]+$")


TOKENIZER_VERSION = 1  # raise when tokenize() changes, so stored tokens are made again


def tokenize(text: str) -> list[str]:
    """Content words of a Chinese/English text, lower-cased, in order, with repeats."""
    text = unicodedata.normalize("NFKC", text).lower()
    words = []
    for piece in jieba.cut(text):
        piece = piece.strip(" .-+")
        if not piece or not _TOKEN.fullmatch(piece) or _DIGITS.match(piece):
            continue
        if piece in _STOPWORDS or (len(piece) == 1 and piece.isascii()):
            continue
        words.append(piece)
    return words


class LexicalIndex:
    """BM25 over one list, plus document frequencies for weighting shared terms."""

    def __init__(self, tokens: Sequence[Sequence[str]]):
        self.tokens = [list(t) for t in tokens]
        self.size = len(self.tokens)
        self._df = Counter(term for doc in self.tokens for term in set(doc))
        self._bm25 = bm25s.BM25()
        if self.size:
            # an empty document would make bm25s drop it and shift every position
            self._bm25.index([doc or ["\u2400"] for doc in self.tokens], show_progress=False)

    def idf(self, term: str) -> float:
        df = self._df.get(term, 0)
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """BM25 of every document (in index order) for the query."""
        known = [t for t in query_tokens if t in self._df]
        if not self.size or not known:
            return np.zeros(self.size, np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def shared_terms(self, a: Sequence[str], b: Sequence[str], top: int = 6) -> list[str]:
        """Terms both texts use, rarest first (rare shared words say most about a fit)."""
        common = set(a) & set(b)
        return sorted(common, key=lambda t: (-self.idf(t), t))[:top]
