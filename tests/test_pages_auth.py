"""Signing in and out, CSRF refusal, and what an anonymous visitor may not reach."""
from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web import PASSWORD, client, csrf_of, organiser, sign_in, soup  # noqa: F401


def test_login_page_has_a_form_with_csrf(client: TestClient) -> None:
    page = soup(client.get("/login"))
    form = page.find("form", attrs={"action": "/login"})
    assert form.find("input", attrs={"name": "username"}) and form.find("input", attrs={"name": "password"})
    assert form.find("input", attrs={"name": "csrf_token"})["value"]


def test_wrong_password_is_refused_in_chinese(client: TestClient) -> None:
    sign_in(client, "alice")
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    response = client.post("/login", data={"username": "alice", "password": "wrong password!",
                                           "csrf_token": csrf_of(client)})
    assert response.status_code == 401
    page = soup(response)
    assert "不正确" in page.find(class_="error").text
    assert page.find("input", attrs={"name": "username"})["value"] == "alice"  # what was typed is kept


def test_a_post_without_the_csrf_token_is_refused(client: TestClient) -> None:
    response = client.post("/login", data={"username": "x", "password": PASSWORD})
    assert response.status_code == 403
    assert "CSRF" in soup(response).find(class_="error").text


def test_sign_in_and_out(organiser: TestClient) -> None:
    nav = soup(organiser.get("/login")).find("header")
    assert "退出（organiser）" in nav.text
    organiser.post("/logout", data={"csrf_token": csrf_of(organiser)})
    assert "组织方登录" in soup(organiser.get("/login")).find("header").text


def test_login_never_redirects_off_site(client: TestClient) -> None:
    sign_in(client, "bob")
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    response = client.post("/login", data={"username": "bob", "password": PASSWORD, "next": "//evil.example/",
                                           "csrf_token": csrf_of(client)}, follow_redirects=False)
    assert response.headers["location"] == "/admin"
