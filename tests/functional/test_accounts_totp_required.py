"""roles.yaml's require_totp: holders must enrol a second factor before any other page."""

from __future__ import annotations

from dataclasses import replace

import pyotp
import pytest

from tests.conftest import DEMO, csrf_token, login
from tests.functional.test_accounts_totp import (
    QUEUE,
    SETUP,
    VOIRIE,
    _agent,
    _enrol,
    _forget_last_step,
    clear_secret,
)


@pytest.fixture
def configs(configs):  # type: ignore[no-untyped-def]
    """The demo commune with require_totp on the "agent" role."""
    config = configs[DEMO]
    roles = dict(config.roles)
    roles["agent"] = roles["agent"].model_copy(update={"require_totp": True})
    return {**configs, DEMO: replace(config, roles=roles)}


def test_a_role_requiring_totp_must_enrol_before_any_other_page(app, client, demo_accounts):
    response = login(client, VOIRIE)
    assert response.status_code == 303
    to_setup = client.get(QUEUE)
    assert to_setup.status_code == 302 and to_setup.headers["Location"].endswith(SETUP)
    assert client.get(f"/{DEMO}/agent/compte/mot-de-passe").status_code == 302
    html = client.get(SETUP).get_data(as_text=True)
    assert "Votre rôle impose une double authentification" in html
    _enrol(app, client)
    assert client.get(QUEUE).status_code == 200
    # It cannot be turned off while the role requires it.
    _forget_last_step(app)
    token = csrf_token(client, SETUP)
    client.post(f"{SETUP}/desactiver", data={"code": pyotp.TOTP(clear_secret(app)).now(),
                                            "csrf_token": token})
    assert _agent(app).totp_enabled_at is not None


def test_other_roles_are_not_asked_to_enrol(client, demo_accounts):
    login(client, "chef.voirie@champignac.example")
    assert client.get(QUEUE).status_code == 200
