"""Measure the per-language mean vectors of an encoder on the seed lists and store them in
matching/priors/ (run again after changing the default model or the embedded texts).

    .venv/bin/python scripts/make_language_priors.py [MODEL]
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

from matching.encoders import DEFAULT_MODEL, load_encoder
from matching.engine import CAPABILITY, CLAUSE, OPPORTUNITY
from matching.language import detect
from matching.priors import save_priors
from matching.text import entry_text, requirement_clauses
from service.tabular import read_table

SEED = Path(__file__).resolve().parent.parent / "seed_data"


def main(model: str) -> None:
    encoder = load_encoder(model)
    opps = read_table(SEED / "opportunities.csv", kind="opportunity").rows
    caps = read_table(SEED / "capabilities.csv", kind="capability").rows
    docs = [entry_text(r.values["title"], r.values["description"], r.values.get("requirements")) for r in opps]
    docs += [entry_text(r.values["title"], r.values["description"]) for r in caps]
    clauses = [c for r in opps for c in requirement_clauses(r.values.get("requirements"), r.values["description"])]
    clauses += [s for r in caps if detect(r.values["description"]) == "en"
                for s in re.split(r"(?<=[.;])\s+", r.values["description"]) if len(s) > 20]
    priors = {}
    for role, texts, as_query in ((OPPORTUNITY, docs, True), (CAPABILITY, docs, False), (CLAUSE, clauses, True)):
        vectors = (encoder.encode_queries if as_query else encoder.encode_passages)(texts)
        langs = np.array([detect(t) for t in texts])
        priors[role] = {lang: vectors[langs == lang].mean(axis=0) for lang in ("zh", "en")}
        print(role, {lang: int((langs == lang).sum()) for lang in ("zh", "en")})
    print("wrote", save_priors(encoder.name, priors))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MODEL)
