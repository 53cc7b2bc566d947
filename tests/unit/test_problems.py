"""One test pins the problem+json shape of every error of the tree."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from bestnext import errors
from bestnext.api import problems


class Body(BaseModel):
    name: str


def _app() -> FastAPI:
    app = FastAPI()
    problems.install(app)

    @app.get("/boom/{kind}")
    def boom(kind: str) -> None:
        cls = getattr(errors, kind)
        raise cls(errors=[{"index": 3, "field": "event", "message": "required"}])

    @app.get("/people/{id_type}/{value:path}")
    def person(id_type: str, value: str) -> None:
        raise errors.NotFound(f"No person with this {id_type}.")

    @app.post("/body")
    def body(b: Body) -> dict[str, str]:
        return {"name": b.name}

    return app


@pytest.mark.parametrize("kind", [n for n in errors.__all__])
def test_every_error_maps_to_problem_json(kind: str) -> None:
    cls = getattr(errors, kind)
    response = TestClient(_app()).get(f"/boom/{kind}")
    assert response.status_code == cls.status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail", "instance", "errors"}
    assert body["status"] == cls.status
    assert body["errors"] == [{"index": 3, "field": "event", "message": "required"}]
    assert body["instance"] == "/boom/{kind}"
    assert body["type"].endswith("/" + errors.BestnextError.type_slug.fget(cls()))  # type: ignore[attr-defined]


def test_request_validation_is_problem_json_naming_the_field() -> None:
    response = TestClient(_app()).post("/body", json={"nom": 1})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "name"


def test_instance_is_the_route_template_never_the_identifier_values() -> None:
    response = TestClient(_app()).get("/people/email/martina.bianchi@example.com")
    assert response.status_code == 404
    assert response.json()["instance"] == "/people/{id_type}/{value}"
    assert "martina" not in response.text and "example.com" not in response.text


def test_validation_problem_names_the_template_too() -> None:
    assert TestClient(_app()).post("/body", json={}).json()["instance"] == "/body"
