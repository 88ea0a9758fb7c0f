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


def test_openapi_tells_the_success_status_as_returned(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()
    created = api.post("/api/links", json={"url": "https://shop.example/"})
    assert created.status_code == 201
    assert "201" in schema["paths"]["/api/links"]["post"]["responses"]
    assert "200" not in schema["paths"]["/api/links"]["post"]["responses"]


def test_openapi_declares_every_path_parameter(client: TestClient) -> None:
    import re

    schema = client.get("/openapi.json").json()
    for path, methods in schema["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        assert ":" not in path
        for method, operation in methods.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (method, path)


def test_openapi_declares_the_csv_import_body(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/api/contacts/import"]["post"]["requestBody"]
    assert "text/csv" in body["content"]


def test_openapi_never_defines_one_name_twice_with_different_shapes() -> None:
    from pydantic import BaseModel, create_model

    from web.openapi import Operation, build_schema

    first: type[BaseModel] = create_model("Row", __module__="web.api.one", a=(int, ...))
    second: type[BaseModel] = create_model("Row", __module__="web.api.two", b=(str, ...))
    schema = build_schema(
        [
            Operation("GET", "/api/one", "one", response=first),
            Operation("GET", "/api/two", "two", response=second),
        ]
    )
    components = schema["components"]["schemas"]
    refs = [
        schema["paths"][p]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        for p in ("/api/one", "/api/two")
    ]
    named = [components[r["$ref"].rsplit("/", 1)[-1]] for r in refs]
    assert set(named[0]["properties"]) == {"a"} and set(named[1]["properties"]) == {"b"}


def test_every_documented_operation_is_served(api: TestClient) -> None:
    """No operation in the document that the app does not route (405, or the router's own
    404): path parameters filled with an id or a code that does not exist."""
    import re

    schema = api.get("/openapi.json").json()
    unserved = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            # A parameter's documented example when it has one (a static file's path).
            url = path
            for parameter in operation.get("parameters", []):
                if "example" in parameter:
                    url = url.replace("{" + parameter["name"] + "}", str(parameter["example"]))
            url = re.sub(r"{\w*id}", "1", url)
            url = re.sub(r"{\w+}", "Nope12345", url)
            response = api.request(
                method.upper(), url, content=b"{}", headers={"Content-Type": "application/json"}
            )
            # The router's own 404 is JSON saying "no such resource"; a route's 404 says what
            # is missing, as JSON, or as a page for the recipients' routes (a short link's).
            json_404 = response.headers.get("content-type", "").startswith("application/json")
            routed_404 = response.status_code == 404 and (
                not json_404 or response.json()["error"]["message"] != "no such resource"
            )
            if response.status_code == 405 or (response.status_code == 404 and not routed_404):
                unserved.append(f"{method.upper()} {path}: {response.status_code}")
    assert unserved == []
