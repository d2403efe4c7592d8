"""`consult serve --workers N`: N API processes without projections plus one projection worker child,
sharing PostgreSQL and Redis; refused without Redis."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Server, make_settings, postgres_database, run_cli


def test_workers_above_one_need_redis(tmp_path):
    settings = make_settings(tmp_path)
    result = run_cli(settings, "serve", "--workers", "2", timeout=60)
    assert result.returncode == 2
    assert "REDIS_URL" in result.stderr


@pytest.mark.postgres
@pytest.mark.redis
def test_two_api_workers_and_a_projection_worker_serve_commands_and_reads(tmp_path, redis_url):
    with postgres_database(cluster=True) as url:
        settings = make_settings(tmp_path, url, redis_url=redis_url)
        server = Server(settings, "--workers", "2", extra_env={"SOCKETIO_CHANNEL": "consult-test-workers"})
        try:
            http = httpx.Client(base_url=server.url + "/api/v1", timeout=30)
            created = http.post(
                "/auth/create-admin",
                json={
                    "fullName": "Admin",
                    "email": "admin@example.com",
                    "password": "Adm1nPassword",
                    "mobile": "9000000001",
                },
            )
            assert created.status_code == 201, created.text
            # read-your-writes through the projection worker: every new connection may land on either
            # API process, and each must see the admin at once
            for _ in range(10):
                with httpx.Client(base_url=server.url + "/api/v1", timeout=30) as fresh:
                    login = fresh.post(
                        "/auth/login", json={"email": "admin@example.com", "password": "Adm1nPassword", "role": "Admin"}
                    )
                    assert login.status_code == 200, login.text
            token = login.json()["data"]["token"]
            category = http.post("/categories", json={"title": "Legal"}, headers={"Authorization": f"Bearer {token}"})
            assert category.status_code == 201
            assert [c["title"] for c in http.get("/categories").json()["data"]] == ["Legal"]
        finally:
            server.stop()
