"""``scenario-match eval``: ranking quality of lexical only, dense only and the shipped hybrid.

The lists are imported into a throw-away data dir through the same import, embedding and
matching code the service runs, so what is measured is what ships.
"""
from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass
from pathlib import Path

from matching.engine import OPPORTUNITY
from matching.evaluation import evaluate
from matching.scoring import Weights
from service.context import Context
from service.importer import import_file
from service.matches import MatchService
from service.progress import reporter
from service.settings import Settings
from service.tabular import ImportFileError

DEPTH = 100


@dataclass(frozen=True)
class Variant:
    name: str
    weights: Weights
    correct_language: bool


SHIPPED = Variant("hybrid (shipped)", Weights(), True)
VARIANTS = [
    Variant("lexical only (BM25)", Weights(dense=0, coverage=0, lexical=1, field=0), False),
    Variant("dense only (plain e5 cosine)", Weights(dense=1, coverage=0, lexical=0, field=0), False),
    Variant("dense + language correction", Weights(dense=1, coverage=0, lexical=0, field=0), True),
    Variant("dense + BM25 (naive fusion)", Weights(dense=1, coverage=0, lexical=0.3, field=0), False),
    Variant("corrected dense + BM25", Weights(dense=1, coverage=0, lexical=0.1, field=0), True),
    Variant("corrected dense + coverage", Weights(dense=1, coverage=1, lexical=0, field=0), True),
    SHIPPED,
]


def read_tsv(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        return list(reader)


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for n, row in enumerate(read_tsv(path, ("opportunity_id", "capability_id", "grade")), 2):
        try:
            qrels.setdefault(row["opportunity_id"], {})[row["capability_id"]] = int(row["grade"])
        except ValueError:
            raise ValueError(f"{path}: line {n}: grade must be 1 or 2, got {row['grade']!r}") from None
    return qrels


def read_cases(path: Path | None) -> dict[str, set[str]]:
    slices: dict[str, set[str]] = {}
    for row in read_tsv(path, ("opportunity_id", "case")) if path else []:
        slices.setdefault(row["case"], set()).add(row["opportunity_id"])
    return slices


def load_lists(settings: Settings, opportunities: Path, capabilities: Path) -> Context:
    """Import and embed both lists into the data dir of ``settings``."""
    context = Context(settings)
    for kind, path in (("opportunity", opportunities), ("capability", capabilities)):
        try:
            with context.session() as session:
                import_file(session, kind, path, filename=path.name, max_bytes=settings.max_import_bytes,
                            actor="cli")
        except ImportFileError as error:
            raise ValueError(f"{path}: {error.reason}") from None
    context.embed(progress=reporter("向量化"))
    return context


def rankings(context: Context, variant: Variant, queries: list[str]) -> dict[str, list[str]]:
    service = MatchService(context.encoder.name, context.encoder.dim, variant.weights, variant.correct_language)
    with context.session() as session:
        service.rebuild(session)
    caps = service.rows["capability"]
    out = {}
    for ext in queries:
        if service.has(OPPORTUNITY, ext):
            found = service.matcher.for_opportunity(service.by_ext[OPPORTUNITY][ext], DEPTH)
            out[ext] = [caps[m.capability].ext_id for m in found]
    return out


def measure(context: Context, qrels: dict[str, dict[str, int]], slices: dict[str, set[str]],
            variants: list[Variant] | None = None) -> dict:
    """Metrics per variant and slice of the judged opportunities."""
    results = {}
    for variant in variants or VARIANTS:
        ranked = rankings(context, variant, sorted(qrels))
        results[variant.name] = {
            name: evaluate(ranked, {q: qrels[q] for q in ids if q in qrels}) for name, ids in slices.items()
        }
    return results


def run_eval(settings: Settings, opportunities: Path, capabilities: Path, qrels_path: Path,
             cases_path: Path | None = None) -> dict:
    qrels = read_qrels(qrels_path)
    slices = {"all": set(qrels), **read_cases(cases_path)}
    with tempfile.TemporaryDirectory(prefix="scenario-match-eval-") as tmp:
        scratch = settings.model_copy(update={"data_dir": Path(tmp), "database_url": None})
        context = load_lists(scratch, opportunities, capabilities)
        try:
            return measure(context, qrels, slices)
        finally:
            context.engine.dispose()


def format_table(results: dict) -> str:
    slices = list(next(iter(results.values())))
    head = f"{'ranking':<32}" + "".join(f"{s + ' (' + str(results[next(iter(results))][s]['queries']) + ')':>30}" for s in slices)
    sub = f"{'':<32}" + "".join(f"{'nDCG@10  R@10    MRR':>30}" for _ in slices)
    lines = [head, sub]
    for name, by_slice in results.items():
        cells = "".join(
            f"{m['ndcg@10']:>14.3f}{m['recall@10']:>8.3f}{m['mrr']:>8.3f}" for m in by_slice.values()
        )
        lines.append(f"{name:<32}{cells}")
    return "\n".join(lines)
