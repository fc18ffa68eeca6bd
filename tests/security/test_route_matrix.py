"""Every route of the app, with every demo role, on tickets of the role's own service,
another service and another commune: the status codes must match ``expected_matrix``.

A route missing from the matrix fails the test (a new route needs a decision). Every
POST carries a valid CSRF token; a denied POST must leave every table unchanged.
"""

from __future__ import annotations

import pytest
from flask import Flask

from tests.security.conftest import DEMO, OTHER, RoleClient, count_rows, file_ticket
from tests.security.expected_matrix import LOGIN, MATRIX, OK, ROLES, TICKET
from tests.security.routes import World, route_methods, target_of, url_for_cell

# Run last, in this order: they sign the role's client out.
SIGNS_OUT = ("agent.logout",)
ALLOWED_POST = {200, 302, 303, 400, 422}

# Minimal valid form data of the POST routes, per commune where it differs.
POST_DATA: dict[str, dict[str, str]] = {
    "agent.reply": {"subject": "", "body": "Nous intervenons jeudi.", "status": "answered"},
    "agent.note": {"body": "Vu avec le chef d'équipe."},
    "agent.change_status": {"status": "in_progress"},
    "agent.locate": {"zone": "", "latitude": "", "longitude": ""},
    "agent.login": {"email": "personne@example.org", "password": "pas le bon"},
    "public.tracking": {"code": "ABCD-EFGH", "verifier": "Martin"},
}
REQUEST_FORM: dict[str, dict[str, str]] = {
    DEMO: {"category": "eclairage-panne", "extra_adresse_incident": "12 rue des Lilas",
           "extra_numero_candelabre": "EP-0042"},
    OTHER: {"category": "signalement", "extra_adresse_incident": "Place de la mairie"},
}
CITIZEN = {"first_name": "Camille", "last_name": "Martin", "email": "camille@example.org",
           "description": "Le lampadaire devant le 12 rue des Lilas ne s'allume plus."}


def expand(spec: dict[str, object], columns: tuple[str, ...]) -> dict[str, tuple[object, ...]]:
    """``{"role role": value or tuple}`` → ``{role: one value per column}``."""
    found: dict[str, tuple[object, ...]] = {}
    for group, value in spec.items():
        values = value if isinstance(value, tuple) else (value,) * len(columns)
        assert len(values) == len(columns), f"{group}: {len(columns)} columns expected"
        for role in group.split():
            assert role in ROLES and role not in found, f"role {role!r} unknown or repeated"
            found[role] = values
    missing = set(ROLES) - found.keys()
    assert not missing, f"roles without an expectation: {sorted(missing)}"
    return found


def matrix_order() -> list[tuple[str, str]]:
    """GETs, then POSTs, then the routes that sign out."""
    return sorted(MATRIX, key=lambda key: (key[0] in SIGNS_OUT, key[1] != "GET", key))


def post_data(endpoint: str, commune: str, token: str) -> dict[str, str]:
    data = {"csrf_token": token, **POST_DATA.get(endpoint, {})}
    if endpoint == "public.request_form":
        data.update(CITIZEN, **REQUEST_FORM[commune])
    return data


def matches(expected: object, status: int, location: str) -> bool:
    to_login = status == 302 and "/agent/connexion" in location
    if expected == LOGIN:
        return to_login
    if expected == OK:
        return status in ALLOWED_POST and not to_login
    return status == expected


def denied(expected: object) -> bool:
    return expected == LOGIN or expected in (403, 404)


def test_every_route_is_in_the_matrix(module_app: Flask) -> None:
    routes = route_methods(module_app)
    missing = sorted(routes - MATRIX.keys())
    assert not missing, f"routes with no row in tests/security/expected_matrix.py: {missing}"
    gone = sorted(MATRIX.keys() - routes)
    assert not gone, f"rows of expected_matrix.py for routes that no longer exist: {gone}"


def test_a_ticket_number_of_another_commune_never_shows_its_ticket(
        module_app: Flask, clients: dict[str, RoleClient]) -> None:
    """Numbers restart in every commune: the same number here is this commune's ticket."""
    number, _code, _file = file_ticket(module_app, OTHER, "accueil", subject="Sujet-Trifouillis")
    file_ticket(module_app, DEMO, "voirie")  # a local ticket that may carry the same number
    for role in ("courrier", "cabinet", "elu"):
        response = clients[role].client.get(f"/{DEMO}/agent/tickets/{number}")
        assert response.status_code in (200, 404), role
        assert "Sujet-Trifouillis" not in response.get_data(as_text=True), role


@pytest.mark.parametrize(("endpoint", "method"), matrix_order(),
                         ids=[f"{m} {e}" for e, m in matrix_order()])
def test_route_matrix(module_app: Flask, world: World, clients: dict[str, RoleClient],
                      endpoint: str, method: str) -> None:
    rules = [r for r in module_app.url_map.iter_rules()
             if r.endpoint == endpoint and method in (r.methods or ())]
    if not rules:
        pytest.fail(f"{method} {endpoint} is in the matrix but not in the app")
    rule_text = rules[0].rule
    columns, spec = MATRIX[(endpoint, method)]
    wrong = []
    for role, values in expand(spec, columns).items():
        order = list(range(len(columns)))
        if endpoint in SIGNS_OUT:
            order.reverse()  # the other commune first, while still signed in here
        for index in order:
            expected = values[index]
            target = target_of(role, columns[index])
            fresh = method == "POST" and expected == OK and columns is TICKET
            url = url_for_cell(world, rule_text, target, fresh)
            session = clients[role]
            before = count_rows(module_app) if method == "POST" and denied(expected) else None
            try:
                if method == "GET":
                    response = session.client.get(url)
                else:
                    response = session.client.post(
                        url, data=post_data(endpoint, target.commune, session.token))
            except Exception as error:  # noqa: BLE001 - a crash is one more wrong cell
                wrong.append(f"{role:16} {columns[index]:10} expected {expected}, crashed: "
                             f"{error!r:.120}")
                continue
            if before is not None and count_rows(module_app) != before:
                wrong.append(f"{role:16} {columns[index]:10} denied but changed the data")
            location = response.headers.get("Location", "")
            if not matches(expected, response.status_code, location):
                wrong.append(f"{role:16} {columns[index]:10} expected {expected}, got "
                             f"{response.status_code} {location}")
    assert not wrong, f"{method} {rule_text}:\n" + "\n".join(wrong)
