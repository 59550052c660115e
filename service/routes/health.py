"""GET /health: is the service up, which model does it use, how big are the lists."""
from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import func, select

from service.deps import ContextDep
from service.models import Capability, Opportunity, Status

router = APIRouter(tags=["health"])


@router.get("/health")
def health(context: ContextDep) -> dict:
    with context.session() as session:
        counts = {
            name: {
                "total": session.exec(select(func.count()).select_from(table)).one(),
                "published": session.exec(
                    select(func.count()).select_from(table).where(table.status == Status.published)
                ).one(),
            }
            for name, table in (("opportunities", Opportunity), ("capabilities", Capability))
        }
    return {"status": "ok", "model": context.settings.model, "index_ready": context.matches_ready, **counts}
