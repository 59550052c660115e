"""What the API refuses and what it keeps inert: bad input is a 422 naming the field (never a
500), bodies over the limit are 413, bad keys 401, contact details never reach the public, and
markup or SQL-shaped text round-trips as plain data through the API and the pages."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from tests.api import PRIVATE, Api, api, make_api, opportunity_body  # noqa: F401
from tests.web import soup

OPPS = "/api/v1/opportunities"
CAPS = "/api/v1/capabilities"
XSS = "<script>alert(1)</script>"
SQL = "'; DROP TABLE opportunity; --"
CJK = re.compile("[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, e5) -> Iterator[Api]:
    """One app for the tests that only read or are refused."""
    yield from make_api(tmp_path_factory.mktemp("safety"), e5)


def _refused(response, field: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["field"] == field
    assert not CJK.search(error["message"].replace(field, "")), error["message"]  # plain English


@pytest.mark.parametrize("change, field", [
    ({"surprise": 1}, "surprise"),
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "题" * 501}, "title"),
    ({"organization": None}, "organization"),
    ({"description": "长" * 5001}, "description"),
    ({"requirements": "求" * 501}, "requirements"),
    ({"field": "域" * 101}, "field"),
    ({"id": "I" * 101}, "id"),
    ({"id": ""}, "id"),
    ({"title": "bad\x00title"}, "title"),
    ({"contact": "\x00"}, "contact"),
    ({"budget_wan": -1}, "budget_wan"),
    ({"budget_wan": 10**400}, "budget_wan"),
    ({"budget_wan": 1e10}, "budget_wan"),
    ({"budget_wan": "many"}, "budget_wan"),
    ({"deadline": "2026-02-30"}, "deadline"),
    ({"deadline": "next week"}, "deadline"),
    ({"email": "no-at-sign"}, "email"),
    ({"status": "deleted"}, "status"),
    ({"extra": {"备注": 3}}, "extra.备注"),
    ({"extra": {"": "x"}}, "extra..[key]"),  # the empty key, then where in it
    ({"extra": {f"k{i}": "v" for i in range(51)}}, "extra"),
    ({"extra": {"备注": "a\x00b"}}, "extra.备注"),
])
def test_a_bad_field_is_422_naming_it(shared: Api, change: dict, field: str) -> None:
    _refused(shared.post(OPPS, json={**opportunity_body(id="O-NEW"), **change}), field)
    if "id" not in change and "surprise" not in change:
        _refused(shared.put(f"{OPPS}/O-1", json=change), field)
    assert shared.get(f"{OPPS}/O-NEW", "organiser").status_code == 404


@pytest.mark.parametrize("raw, field", [
    ('{"title": "\\ud800", "organization": "o", "description": "d"}', "title"),
    ('{"title": "t", "organization": "o", "description": "d", "budget_wan": 1e400}', "budget_wan"),
    ('{"title": "t", "organization": "o", "description": "d", "budget_wan": NaN}', "budget_wan"),
    ('["title", "organization"]', "body"),
    ('"just text"', "body"),
])
def test_odd_json_is_422_not_a_server_error(shared: Api, raw: str, field: str) -> None:
    response = shared.post(OPPS, content=raw.encode(), headers={"Content-Type": "application/json"})
    _refused(response, field)


def test_broken_json_is_422(shared: Api) -> None:
    response = shared.post(OPPS, content=b'{"title": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize("path, params, field", [
    (OPPS, {"page": 0}, "page"),
    (OPPS, {"page": 10**30}, "page"),
    (OPPS, {"page": "two"}, "page"),
    (OPPS, {"per_page": 201}, "per_page"),
    (OPPS, {"per_page": 0}, "per_page"),
    (OPPS, {"field": "a\x00"}, "field"),
    (OPPS, {"district": "区" * 101}, "district"),
    (OPPS, {"status": "gone"}, "status"),
    (OPPS, {"updated_since": "yesterday"}, "updated_since"),
    (OPPS, {"updated_since": "2026-13-40"}, "updated_since"),
    (OPPS, {"updated_since": "0001-01-01T00:00:00+14:00"}, "updated_since"),
    (OPPS, {"updated_since": "9999-12-31T23:59:59-14:00"}, "updated_since"),
    (f"{OPPS}/O-1/matches", {"k": 10**30}, "k"),
    (f"{OPPS}/O-1/matches", {"field": "\x00"}, "field"),
    ("/api/v1/search", {"list": "opportunities", "q": "a\x00b"}, "q"),
    ("/api/v1/search", {"list": "opportunities", "q": "x", "k": -1}, "k"),
    ("/api/v1/reviews", {"page": -5}, "page"),
])
def test_a_bad_query_value_is_422_naming_it(shared: Api, path: str, params: dict, field: str) -> None:
    _refused(shared.get(path, "organiser", params=params), field)


@pytest.mark.parametrize("path", [f"{OPPS}/{'x' * 300}", f"{OPPS}/%00", f"{CAPS}/%F0%9F%92%A9",
                                  f"{OPPS}/..%2F..%2Fadmin", f"{CAPS}/{SQL}/matches"])
def test_odd_ids_in_the_path_are_not_found(shared: Api, path: str) -> None:
    response = shared.get(path, "organiser")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("authorization", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer smk_not-a-key",
                                           "Bearer some-firm-token-nobody-has", "bearer  "])
def test_a_bad_authorization_header_is_401(shared: Api, authorization: str) -> None:
    response = shared.client.get(OPPS, headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.json()["error"]["field"] == "Authorization" and response.headers["www-authenticate"] == "Bearer"


def test_contact_details_never_reach_the_public(api: Api) -> None:
    for path, phone, email in ((f"{OPPS}/O-1", "0510-11112222", "o1@example.com"),
                               (f"{CAPS}/C-2", "0510-33334444", "c2@example.com")):
        assert api.put(path, json={"phone": phone, "email": email, "contact": "张三"}).status_code == 200
    secrets = ("0510-11112222", "o1@example.com", "0510-33334444", "c2@example.com", "0510-55550005",
               "c5@example.com")
    reads = [OPPS, CAPS, f"{OPPS}/O-1", f"{CAPS}/C-2", f"{OPPS}/O-1/matches", f"{CAPS}/C-2/matches",
             "/api/v1/search?list=opportunities&q=医疗样本无人机", "/api/v1/search?list=capabilities&q=drone",
             "/opportunities/O-1", "/capabilities/C-2", "/opportunities?q=无人机"]
    for path in reads:
        for role in ("public", "firm"):
            response = api.get(path, role)
            assert response.status_code == 200, path
            assert not [s for s in secrets if s in response.text], (path, role)
            if path.startswith("/api/") and "items" in response.json() and "q" not in response.json():
                assert all(not set(PRIVATE) & set(item) for item in response.json()["items"])
    assert api.get(f"{OPPS}/O-1").json()["contact"] == "张三"  # the name is public, as on the pages
    assert api.get(f"{OPPS}/O-1", "integrator").json()["phone"] == "0510-11112222"


def test_markup_and_sql_shaped_text_round_trip_as_data(api: Api) -> None:
    longest = (XSS + SQL) * (5000 // len(XSS + SQL)) + "长" * (5000 % len(XSS + SQL))
    body = opportunity_body(id="O-XSS", title=XSS, organization=SQL, description=longest,
                            requirements=SQL + "；" + XSS, extra={XSS: SQL})
    assert len(longest) == 5000
    created = api.post(OPPS, json=body)
    assert created.status_code == 201, created.text
    read = api.get(f"{OPPS}/O-XSS").json()
    assert (read["title"], read["organization"], read["description"], read["extra"]) == (XSS, SQL, longest,
                                                                                         {XSS: SQL})
    assert api.get(OPPS, params={"field": SQL}).json()["items"] == []
    assert api.get("/api/v1/search", params={"list": "opportunities", "q": SQL}).status_code == 200
    page = api.client.get("/opportunities/O-XSS")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert not [s for s in soup(page).find_all("script") if "alert" in s.text]
    assert soup(page).find("h1").get_text(strip=True) == XSS
    with api.context.engine.connect() as connection:
        assert {"opportunity", "capability", "audit_log"} <= set(inspect(connection).get_table_names())
    assert api.get(OPPS, "organiser").json()["total"] == 4


@pytest.fixture()
def small_bodies(tmp_path: Path, e5) -> Iterator[Api]:
    yield from make_api(tmp_path, e5, max_body_kb=2)


def test_a_body_over_the_limit_is_413(small_bodies: Api) -> None:
    big = small_bodies.post(OPPS, json=opportunity_body(description="长" * 2000))  # ~6 KB of UTF-8
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"
    assert small_bodies.get(f"{OPPS}/O-9", "organiser").status_code == 404
    assert small_bodies.post(OPPS, json=opportunity_body()).status_code == 201
    note = small_bodies.put("/api/v1/reviews", json={"opportunity": "O-1", "capability": "C-1",
                                                      "mark": "excluded", "note": "备" * 1000})
    assert note.status_code == 413


def test_a_revoked_key_is_refused_everywhere(shared: Api) -> None:
    for method, path in (("get", OPPS), ("get", f"{OPPS}/O-1"), ("get", "/api/v1/reviews"),
                         ("post", f"{OPPS}/O-1/archive"), ("put", "/api/v1/reviews")):
        response = getattr(shared.client, method)(path, headers=shared.headers["revoked"])
        assert response.status_code == 401, path
