"""``scenario-match keys``: create, list and revoke API keys."""
from __future__ import annotations

import json
from typing import Annotated

import typer

from service.models import ApiKey, Role

keys_app = typer.Typer(help="API keys for integrators and organisers (shown once, stored hashed).",
                       no_args_is_help=True)

ACTOR = "cli"
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _session():
    from service.context import Context
    from service.settings import Settings

    return Context(Settings()).session()


def _fail(message: str) -> None:
    typer.echo(f"错误：{message}", err=True)
    raise typer.Exit(1)


def _row(key: ApiKey) -> dict:
    """What may be shown of a key: never its secret or hash."""
    def when(moment):
        return moment.isoformat() if moment else None

    return {"id": key.id, "name": key.name, "role": Role(key.role).value, "prefix": key.prefix,
            "created_by": key.created_by, "created_at": when(key.created_at),
            "last_used_at": when(key.last_used_at), "revoked_at": when(key.revoked_at)}


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Who uses the key, e.g. the platform's name.")],
    role: Annotated[Role, typer.Option(help="organiser: everything; integrator: read-only.")] = Role.integrator,
    as_json: JsonFlag = False,
) -> None:
    """Make a key and print its secret: this is the only time it is shown."""
    from service.keys import KeyError_, create_key

    with _session() as session:
        try:
            key, secret = create_key(session, name=name, role=role, actor=ACTOR)
        except KeyError_ as error:
            _fail(str(error))
        row = _row(key)
    if as_json:
        typer.echo(json.dumps({**row, "secret": secret}, ensure_ascii=False))
        return
    typer.echo(f"已创建 API 密钥 {row['id']}「{row['name']}」（{row['role']}）：\n{secret}\n"
               "请立即保存：密钥只显示这一次，系统只保存它的散列值。")


@keys_app.command("list")
def list_(as_json: JsonFlag = False) -> None:
    """Every key with its first characters, role, creation, last use and revocation."""
    from service.keys import list_keys

    with _session() as session:
        rows = [_row(key) for key in list_keys(session)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        typer.echo("还没有 API 密钥。用 scenario-match keys create 名称 --role integrator 创建。")
    for r in rows:
        state = f"已吊销 {r['revoked_at'][:16]}" if r["revoked_at"] else "有效"
        used = r["last_used_at"][:16] if r["last_used_at"] else "从未使用"
        typer.echo(f"{r['id']}\t{r['prefix']}…\t{r['role']}\t{r['name']}\t创建 {r['created_at'][:16]}\t"
                   f"最近使用 {used}\t{state}")


@keys_app.command("revoke")
def revoke(key_id: Annotated[int, typer.Argument(help="The key's id (see keys list).")],
           as_json: JsonFlag = False) -> None:
    """Revoke a key: requests with it are refused from now on."""
    from service.keys import revoke_key

    with _session() as session:
        key = revoke_key(session, key_id, actor=ACTOR)
        if key is None:
            _fail(f"没有编号为 {key_id} 的 API 密钥")
        row = _row(key)
    if as_json:
        typer.echo(json.dumps(row, ensure_ascii=False))
        return
    typer.echo(f"已吊销 API 密钥 {row['id']}「{row['name']}」。")
