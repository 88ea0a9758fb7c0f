from __future__ import annotations

from starlette.testclient import TestClient

from richsms.settings import Settings


def test_healthz_reports_the_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database() -> None:
    from web.app import create_app

    settings = Settings.from_mapping(
        {"RICHSMS_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_unknown_api_route_is_json_404(api: TestClient) -> None:
    response = api.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_wrong_method_is_json_405(api: TestClient) -> None:
    response = api.get("/api/sms/analyze")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_openapi_lists_the_api(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert "post" in schema["paths"]["/api/sms/analyze"]
    assert "AnalyzeIn" in schema["components"]["schemas"]
