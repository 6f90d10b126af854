"""`/docs` (Swagger UI) and `/redoc` are served from an installed package's assets, so they work with no internet:
each page names only this server's assets, and each of them answers."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from q2c.entrypoints.http_api import create_app
from q2c.store.db import create_db_engine, migrate
from support.api_auth import bearer


def test_the_docs_page_and_its_assets_come_from_this_server(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    migrate(engine)
    with TestClient(create_app(engine, webhook_secret="whsec-test"), headers=bearer(engine)) as api:
        page = api.get("/docs")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "cdn." not in page.text and "/openapi.json" in page.text
        for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
            assert asset in page.text
            answer = api.get(asset)
            assert answer.status_code == 200 and len(answer.content) > 10_000, asset
        redoc = api.get("/redoc")
        assert redoc.status_code == 200 and "cdn." not in redoc.text and "fonts.googleapis" not in redoc.text
        assert "/docs/assets/redoc.standalone.js" in redoc.text and "/openapi.json" in redoc.text
        assert len(api.get("/docs/assets/redoc.standalone.js").content) > 100_000
        assert "/docs" not in api.get("/openapi.json").json()["paths"]
