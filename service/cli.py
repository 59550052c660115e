"""The ``scenario-match`` command line."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from service.backup_cli import register as register_backup
from service.key_cli import keys_app
from service.settings import Settings

app = typer.Typer(help="场景供需对接 scenario-match: import the two lists, match, serve.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
import_app = typer.Typer(help="Import a 场景机会清单 or 场景能力清单 (CSV or .xlsx).", no_args_is_help=True)
app.add_typer(import_app, name="import")
event_app = typer.Typer(help="供需对接活动: plan a matchmaking event.", no_args_is_help=True)
app.add_typer(event_app, name="event")
app.add_typer(keys_app, name="keys")
register_backup(app)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _context():
    from service.context import Context

    return Context(Settings())


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"错误：{message}", err=True)
    raise typer.Exit(code)


def _parse_mapping(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        header, sep, key = item.partition("=")
        if not sep or not header.strip() or not key.strip():
            _fail(f"--map 的格式应为 表头=字段，例如 公司=organization；收到的是 {item!r}", 2)
        mapping[header.strip()] = key.strip()
    return mapping


def _import(kind: str, path: Path, as_json: bool, mapping: list[str]) -> None:
    from service.importer import import_file
    from service.progress import reporter
    from service.tabular import ImportFileError

    context = _context()
    try:
        with context.session() as session:
            report = import_file(session, kind, path, filename=path.name, mapping=_parse_mapping(mapping),
                                 max_bytes=context.settings.max_import_bytes, progress=reporter("写入"),
                                 actor="cli")
    except ImportFileError as error:
        if as_json:
            typer.echo(json.dumps({"created": 0, "updated": 0, "rejected": [
                {"row": getattr(error, "row", None) or 0, "column": getattr(error, "column", None) or "",
                 "reason": error.reason}]}, ensure_ascii=False))
        _fail(f"{path}: {error.reason}")
    except OSError as error:
        _fail(f"无法读取 {path}：{error.strerror or error}")
    context.after_write(kind, report.entry_ids, progress=reporter("向量化"))
    if as_json:
        typer.echo(json.dumps(report.as_json(), ensure_ascii=False))
        return
    typer.echo(f"新增 {report.created} 条，更新 {report.updated} 条，拒绝 {len(report.rejected)} 行")
    for error in report.rejected:
        typer.echo(f"  第 {error.row} 行 [{error.column}]：{error.reason}")


MapOption = Annotated[list[str], typer.Option("--map", help="Map an unknown header: 表头=field (repeatable).")]


@import_app.command("opportunities")
def import_opportunities(path: Path, as_json: JsonFlag = False, mapping: MapOption = []) -> None:  # noqa: B006
    """Import a 场景机会清单 (published)."""
    _import("opportunity", path, as_json, mapping)


@import_app.command("capabilities")
def import_capabilities(path: Path, as_json: JsonFlag = False, mapping: MapOption = []) -> None:  # noqa: B006
    """Import a 场景能力清单 (published)."""
    _import("capability", path, as_json, mapping)


@app.command()
def match(
    opportunity: Annotated[Optional[str], typer.Option(help="An opportunity's list id.")] = None,
    capability: Annotated[Optional[str], typer.Option(help="A capability's list id.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every published opportunity.")] = False,
    top: Annotated[int, typer.Option(min=1, max=1000, help="How many matches each.")] = 10,
    field: Annotated[Optional[str], typer.Option(help="Only entries of this 所属领域.")] = None,
    district: Annotated[Optional[str], typer.Option(help="Only entries in this 所在地区.")] = None,
    status: Annotated[str, typer.Option(help="Statuses of proposed entries, comma-separated: "
                                        "published, pending_review, draft.")] = "published",
    as_json: JsonFlag = False,
) -> None:
    """Best capabilities for an opportunity, or the reverse, with scores and reasons."""
    from service.match_report import run_match
    from service.models import Status

    if sum([opportunity is not None, capability is not None, all_]) != 1:
        _fail("请给出且只给出 --opportunity ID、--capability ID 或 --all 之一", 2)
    try:
        statuses = tuple(Status(s.strip()) for s in status.split(","))
    except ValueError:
        _fail(f"--status 只能是 published、pending_review、draft、archived，收到的是 {status!r}", 2)
    result, problem = run_match(_context(), opportunity=opportunity, capability=capability, all_=all_,
                                top=top, field=field, district=district, statuses=statuses, as_json=as_json)
    if problem:
        _fail(problem)
    typer.echo(result)


@app.command()
def review(
    opportunity: Annotated[str, typer.Option(help="The opportunity's list id.")],
    capability: Annotated[str, typer.Option(help="The capability's list id.")],
    mark: Annotated[str, typer.Option(help="confirmed (已确认), excluded (已排除) or clear.")],
    note: Annotated[Optional[str], typer.Option(help="Why.")] = None,
) -> None:
    """Mark a proposed pair 已确认 or 已排除; recomputed matches keep the mark."""
    from service.reviews import set_mark

    context = _context()
    with context.session() as session:
        problem = set_mark(session, opportunity=opportunity, capability=capability, mark=mark, note=note,
                           actor="cli")
    if problem:
        _fail(problem)
    typer.echo(f"{opportunity} ↔ {capability}: {mark}")


@event_app.command("plan")
def event_plan(
    name: Annotated[str, typer.Option(help="The event's name.")],
    opportunities: Annotated[str, typer.Option(help="all, or list ids separated by commas.")] = "all",
    per_opportunity: Annotated[int, typer.Option(min=1, max=50, help="Suppliers each scenario meets.")] = 3,
    max_per_supplier: Annotated[int, typer.Option(min=1, max=50, help="Most meetings one supplier has.")] = 4,
    slots: Annotated[int, typer.Option(min=1, max=200, help="Time slots.")] = 8,
    tables: Annotated[int, typer.Option(min=1, max=2000, help="Tables.")] = 20,
    min_score: Annotated[Optional[float], typer.Option(help="Pairs scoring below are not proposed.")] = None,
    fair: Annotated[bool, typer.Option("--fair", help="Raise the worst-served scenario first.")] = False,
    out: Annotated[Optional[Path], typer.Option(help="Also write the workbook (.xlsx).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Pair scenarios with suppliers (optimal, not greedy) and schedule the meetings."""
    from service.event_plan_cli import run_event_plan

    output, problem = run_event_plan(_context(), name=name, opportunities=opportunities,
                                     per_opportunity=per_opportunity, max_per_supplier=max_per_supplier,
                                     slots=slots, tables=tables, min_score=min_score, fair=fair, out=out,
                                     as_json=as_json)
    if problem:
        _fail(problem)
    typer.echo(output)


@app.command("create-organiser")
def create_organiser(
    username: Annotated[str, typer.Option(prompt="用户名", help="The organiser's sign-in name.")],
    password: Annotated[str, typer.Option(prompt="密码", hide_input=True, confirmation_prompt="再次输入密码",
                                          help="At least 10 characters; prompted for when omitted.")],
) -> None:
    """Create an organiser account (the first one is made this way; there is no default)."""
    from service.auth import AuthError, create_account

    context = _context()
    with context.session() as session:
        try:
            account = create_account(session, username=username, password=password)
        except AuthError as error:
            _fail(str(error))
    typer.echo(f"已创建组织方账号：{account.username}")


@app.command()
def seed(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Only when both lists are empty.")] = False,
) -> None:
    """Load the seed lists shipped in seed_data/ (creates or updates those entries)."""
    from service.seed import is_empty, load_seed

    context = _context()
    if if_empty and not is_empty(context):
        typer.echo("数据库已有数据，跳过种子数据。")
        return
    for line in load_seed(context):
        typer.echo(line)


@app.command("eval")
def evaluate(
    opportunities: Annotated[Path, typer.Option(help="场景机会清单 file.")],
    capabilities: Annotated[Path, typer.Option(help="场景能力清单 file.")],
    qrels: Annotated[Path, typer.Option(help="Relevance judgments (TSV).")],
    cases: Annotated[Optional[Path], typer.Option(help="Case labels (TSV) for per-case figures.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """nDCG@10, recall@10 and MRR of lexical only, dense only and the shipped hybrid."""
    from service.evaluate import format_table, run_eval

    try:
        results = run_eval(Settings(), opportunities, capabilities, qrels, cases)
    except (ValueError, OSError) as error:
        _fail(str(error))
    typer.echo(json.dumps(results, ensure_ascii=False, indent=1) if as_json else format_table(results))


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Listen address.")] = None,
    port: Annotated[Optional[int], typer.Option(min=1, max=65535, help="Port.")] = None,
) -> None:
    """Start the web service."""
    import uvicorn

    from service.app import create_app

    settings = Settings()
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port)


def main() -> None:
    """The entry point: a database problem is a message, never a traceback."""
    from pydantic import ValidationError
    from sqlalchemy.exc import SQLAlchemyError

    try:
        app(prog_name="scenario-match")
    except ValidationError as error:
        for problem in error.errors():
            where = ".".join(str(p) for p in problem["loc"])
            typer.echo(f"错误：设置有误{f'（{where}）' if where else ''}：{problem['msg']}", err=True)
        sys.exit(2)
    except SQLAlchemyError as error:
        typer.echo(f"错误：数据库操作失败（{type(error).__name__}）：{str(error).splitlines()[0]}", err=True)
        typer.echo("请检查 SCENARIO_MATCH_DATABASE_URL / SCENARIO_MATCH_DATA_DIR 的设置。", err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
