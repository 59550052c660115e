"""Property-based fuzzing of the whole API from the app's own OpenAPI document (schemathesis):
every operation the schema holds when the test runs, called with an organiser key (so the
endpoints behind a key are exercised), as the public, and the firm endpoints with a firm's
token. No request may end in a server error, and answers must match their documented shape.

Bounded in time: a few examples per operation, over one shared data dir."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from typer.testing import CliRunner

from service import submissions
from service.app import create_app
from service.cli import app as cli
from service.keys import create_key
from service.models import ApiKey
from service.settings import Settings
from tests.api_fixtures import SUBMISSION, bearer
from tests.helpers import lists

EXAMPLES = 10  # per operation, caller and mode: well under two minutes in all on two cores
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate],  # no shrinking: report, don't minimise
                suppress_health_check=list(HealthCheck))


class FuzzApp:
    def __init__(self, app, organiser: str, key_id: int, firm: str):
        self.app, self.organiser, self.key_id, self.firm = app, organiser, key_id, firm

    def keep_key(self) -> None:
        """The fuzzer may revoke any key, ours too: bring it back before each call."""
        with self.app.state.context.session() as session:
            key = session.get(ApiKey, self.key_id)
            if key.revoked_at is not None:
                key.revoked_at = None
                session.add(key)
                session.commit()


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzApp]:
    """The app over the small lists, a planned event, an organiser key and a firm's token."""
    tmp = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SCENARIO_MATCH_DATA_DIR", str(tmp / "data"))
        patch.delenv("SCENARIO_MATCH_DATABASE_URL", raising=False)
        patch.setenv("SCENARIO_MATCH_SUBMIT_PER_HOUR", "100000")
        patch.setenv("SCENARIO_MATCH_SEARCH_PER_MINUTE", "100000")
        runner = CliRunner()
        opps, caps = lists(Path(tmp))
        assert runner.invoke(cli, ["import", "opportunities", str(opps)]).exit_code == 0
        assert runner.invoke(cli, ["import", "capabilities", str(caps)]).exit_code == 0
        plan = runner.invoke(cli, ["event", "plan", "--name", "春季对接会", "--slots", "2", "--tables", "3",
                                   "--per-opportunity", "2", "--max-per-supplier", "2"])
        assert plan.exit_code == 0, plan.output
        app = create_app(Settings())
        context = app.state.context
        with context.session() as session:
            key, secret = create_key(session, name="fuzz", role="organiser", actor="test")
            key_id = key.id
            clean, _ = submissions.validate(session, dict(SUBMISSION))
            _, token = submissions.submit(context, session, clean)
        yield FuzzApp(app, secret, key_id, token)


@pytest.fixture(scope="module")
def api_schema(fuzz_app: FuzzApp):
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app.app)


def fuzz(api_schema, headers: dict[str, str], *, path: str = "/api/", before=None) -> int:
    """Call every operation under ``path`` with generated valid and invalid requests; fails
    with every operation's first problem. Returns how many operations were fuzzed.
    (schemathesis' own pytest integration does not run under pytest 9 yet.)"""
    problems, operations, statuses = [], 0, Counter()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(path):
            continue
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @FUZZ
            def call(case) -> None:
                if before:
                    before()
                response = case.call_and_validate(headers=dict(headers), checks=CHECKS)
                statuses[response.status_code] += 1

            try:
                call()
            except Unsatisfiable:  # nothing to make invalid: no parameters and no body
                continue
            except Exception as error:  # noqa: BLE001 - every operation is reported, not just the first
                problems.append(f"{operation.label} ({mode.value}): {error}")
    print(f"fuzzed {operations} operations under {path} with {sum(statuses.values())} requests:",
          dict(sorted(statuses.items())))
    assert not problems, "\n\n".join(problems)
    return operations


def test_the_api_as_an_organiser(api_schema, fuzz_app: FuzzApp) -> None:
    assert fuzz(api_schema, bearer(fuzz_app.organiser), before=fuzz_app.keep_key) >= 10


def test_the_api_as_the_public(api_schema) -> None:
    assert fuzz(api_schema, {}) >= 10


def test_the_submission_api_as_a_firm(api_schema, fuzz_app: FuzzApp) -> None:
    assert fuzz(api_schema, bearer(fuzz_app.firm), path="/api/v1/submissions") == 3
