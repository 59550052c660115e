"""Language means measured once per model on a larger corpus (the seed lists), used where a
data dir holds too few entries to measure its own (see matching.language)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

DIR = Path(__file__).parent / "priors"


def path_for(model: str) -> Path:
    return DIR / (re.sub(r"[^A-Za-z0-9._-]+", "_", model) + ".npz")


def load_priors(model: str) -> dict[str, dict[str, np.ndarray]]:
    """{role: {lang: mean}} for ``model``; empty when none was measured."""
    path = path_for(model)
    if not path.exists():
        return {}
    out: dict[str, dict[str, np.ndarray]] = {}
    with np.load(path) as data:
        for key in data.files:
            role, lang = key.split("/")
            out.setdefault(role, {})[lang] = data[key].astype(np.float32)
    return out


def save_priors(model: str, priors: dict[str, dict[str, np.ndarray]]) -> Path:
    DIR.mkdir(exist_ok=True)
    path = path_for(model)
    np.savez(path, **{f"{role}/{lang}": v for role, langs in priors.items() for lang, v in langs.items()})
    return path
