"""``scenario-match backup PATH`` and ``restore PATH``, safe while the service runs."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the backup and restore commands to the CLI."""

    @app.command("backup")
    def backup_command(
        path: Annotated[Path, typer.Argument(help="The archive to write (replaced if it exists).")],
    ) -> None:
        """Write every table, vectors included, to one archive; the service may keep running."""
        from service import backup

        summary = _run(lambda context: backup.backup(context.engine, path))
        typer.echo(f"已备份 {summary.total} 行（{len(summary.rows)} 张表，数据库版本 {summary.revision}）"
                   f"到 {summary.path}")

    @app.command("restore")
    def restore_command(
        path: Annotated[Path, typer.Argument(help="An archive written by `scenario-match backup`.")],
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before replacing.")] = False,
    ) -> None:
        """Replace the whole database with an archive's contents, in one transaction; running
        service processes pick the change up within a few seconds."""
        from service import backup

        def run(context):
            backup.read_archive(context.engine, path)  # refuse a bad archive before asking
            if not yes and not typer.confirm("恢复会用备份替换数据库中的全部内容，确定吗？", err=True):
                raise backup.BackupError("已取消，数据库未改变")
            return backup.restore(context.engine, path)

        summary = _run(run)
        typer.echo(f"已从 {summary.path} 恢复 {summary.total} 行（数据库版本 {summary.revision}）")


def _run(action):
    from sqlalchemy.exc import SQLAlchemyError

    from service import backup
    from service.context import Context
    from service.settings import Settings

    try:
        return action(Context(Settings()))
    except backup.BackupError as error:
        typer.echo(f"错误：{error}", err=True)
        raise typer.Exit(1) from None
    except SQLAlchemyError as error:
        typer.echo(f"错误：数据库操作失败：{str(getattr(error, 'orig', None) or error)[:300]}", err=True)
        raise typer.Exit(1) from None
