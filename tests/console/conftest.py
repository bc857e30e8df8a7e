"""Console fixtures: the app over https (its session cookie is Secure in production) and signed-in clients."""

from __future__ import annotations

import pytest

from tests.console.support import login, make_user


@pytest.fixture
def app(config: dict):
    from gateway import create_app

    app = create_app({**config, "PREFERRED_URL_SCHEME": "https"})  # the test client then speaks https
    return app


@pytest.fixture
def signed_in(app, r):
    """signed_in(role) -> a test client signed in as a new user with that role."""

    def make(role: str, name: str | None = None):
        name = name or f"{role}1"
        make_user(r, name, role)
        client = app.test_client()
        response = login(client, name)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make
