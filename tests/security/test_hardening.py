"""Web hardening, checked over every route of the app: CSRF on every POST, no redirect off
the site, size limits, security headers on every page (HSTS over HTTPS only), no state
change on GET, junk filter values, header injection in outgoing mail, files served as
attachments, SQL built from parameters only."""

from __future__ import annotations

import ast
import email
import email.policy
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask

from tests.security.conftest import DEMO, RoleClient, count_rows
from tests.security.routes import World, route_methods, target_of, url_for_cell
from ticketing.settings import REPO_ROOT

PAGE_ROLES = ("anonyme", "cabinet", "agent_voirie")
HOSTILE_TARGETS = [
    "https://evil.example/", "//evil.example/", "/\\evil.example/", "\\\\evil.example",
    "https:evil.example", "/%2F%2Fevil.example", " //evil.example", "javascript:alert(1)",
    "http://localhost.evil.example/", f"/{DEMO}/agent/\r\nLocation: https://evil.example/",
    "/%0d%0aSet-Cookie:%20x=1",
]
# Each value is sent in every filter and sort parameter at once.
JUNK = ["' OR 1=1 --", "\x00%", "ü" * 300, "-99999999999999999999", "2025-02-30[]"]
FILTER_NAMES = ["service", "status", "overdue", "mine", "apres", "categorie", "canal",
                "quartier", "elu", "horizon", "du", "au", "modele", "page", "sort", "tri",
                "ordre", "q", "next", "limit", "offset"]


def get_routes(app: Flask) -> list[str]:
    return sorted({endpoint for endpoint, method in route_methods(app) if method == "GET"})


def post_routes(app: Flask) -> list[str]:
    return sorted({endpoint for endpoint, method in route_methods(app) if method == "POST"})


def rule_of(app: Flask, endpoint: str) -> str:
    return next(r.rule for r in app.url_map.iter_rules() if r.endpoint == endpoint)


def url(app: Flask, world: World, endpoint: str, role: str = "cabinet") -> str:
    rule = rule_of(app, endpoint)
    column = "own" if any(name in rule for name in ("<number>", "<public_id>",
                                                    "citizen_id>")) else "here"
    return url_for_cell(world, rule_of(app, endpoint), target_of(role, column), fresh=False)


# --- CSRF -------------------------------------------------------------------------------


def test_every_post_route_refuses_a_missing_or_forged_csrf_token(
        module_app: Flask, world: World, clients: dict[str, RoleClient]) -> None:
    wrong = []
    for endpoint in post_routes(module_app):
        targets = {role: url(module_app, world, endpoint, role) for role in ("anonyme", "cabinet")}
        before = count_rows(module_app)
        for role, target in targets.items():
            for token in (None, "forged", clients["chef_voirie"].token):
                data = {"body": "x", "status": "closed"}
                if token is not None:
                    data["csrf_token"] = token
                response = clients[role].client.post(target, data=data)
                if response.status_code != 400:
                    wrong.append(f"{endpoint} as {role}, token {token!r:.20}: "
                                 f"{response.status_code}")
        if count_rows(module_app) != before:
            wrong.append(f"{endpoint}: a POST without a valid token changed the data")
    assert not wrong, "\n".join(wrong)


# --- redirects ---------------------------------------------------------------------------


def is_local(location: str) -> bool:
    parts = urlsplit(location)
    return (parts.scheme in ("", "http") and parts.netloc in ("", "localhost")
            and location.lstrip().startswith(("/", "http://localhost/"))
            and not parts.path.startswith("//") and "\\" not in location
            and "\r" not in location and "\n" not in location)


def test_no_next_parameter_redirects_off_the_site(
        module_app: Flask, world: World, clients: dict[str, RoleClient]) -> None:
    off_site = []
    for endpoint in get_routes(module_app):
        for role in ("anonyme", "cabinet"):
            base = url(module_app, world, endpoint, role)
            for target in HOSTILE_TARGETS[:2]:  # every one on the login page, below
                response = clients[role].client.get(f"{base}?next={quote(target)}")
                location = response.headers.get("Location", "")
                if location and not is_local(location):
                    off_site.append(f"GET {endpoint} as {role}: {location!r}")
    assert not off_site, "\n".join(off_site)


def test_signing_in_never_follows_a_foreign_next(module_app: Flask) -> None:
    from tests.conftest import DEMO_PASSWORD, csrf_token

    for target in HOSTILE_TARGETS:
        client = module_app.test_client()
        page = f"/{DEMO}/agent/connexion?next={quote(target)}"
        response = client.post(page, data={
            "email": "cabinet@champignac.example", "password": DEMO_PASSWORD,
            "csrf_token": csrf_token(client, page)})
        assert response.status_code == 303, target
        assert response.headers["Location"] == f"/{DEMO}/agent/", target


def test_signing_in_follows_a_next_of_the_agent_area(module_app: Flask) -> None:
    from tests.conftest import DEMO_PASSWORD, csrf_token

    client = module_app.test_client()
    wanted = f"/{DEMO}/agent/pilotage/"
    page = f"/{DEMO}/agent/connexion?next={quote(wanted)}"
    response = client.post(page, data={"email": "cabinet@champignac.example",
                                       "password": DEMO_PASSWORD,
                                       "csrf_token": csrf_token(client, page)})
    assert response.headers["Location"] == wanted


# --- request size -------------------------------------------------------------------------


def test_an_oversized_request_is_refused_with_413(
        module_app: Flask, clients: dict[str, RoleClient]) -> None:
    before = count_rows(module_app)
    limit = module_app.config["MAX_CONTENT_LENGTH"]
    response = clients["anonyme"].client.post(
        f"/{DEMO}/demande", data=b"x" * (limit + 1), content_type="application/octet-stream")
    assert response.status_code == 413
    assert "trop volumineux" in response.get_data(as_text=True)
    assert count_rows(module_app) == before


def test_an_oversized_text_field_is_refused_with_413(
        module_app: Flask, world: World, clients: dict[str, RoleClient]) -> None:
    """A text field is never several megabytes: the form parser stops before storing it."""
    session = clients["cabinet"]
    note = url(module_app, world, "agent.note")
    before = count_rows(module_app)
    response = session.client.post(note, data={
        "csrf_token": session.token, "body": "x" * 3_000_000})
    assert response.status_code == 413
    assert count_rows(module_app) == before


# --- headers and inline script ---------------------------------------------------------------


class InlineScriptFinder(HTMLParser):
    """Inline <script> bodies, on* attributes and javascript: URLs of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                    "javascript:"):
                self.found.append(f"<{tag} {name}={value}>")
        if tag == "script":
            self._in_script = not dict(attrs).get("src")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append(f"inline script: {data.strip()[:40]}")


def check_headers(response, https: bool) -> list[str]:  # type: ignore[no-untyped-def]
    problems = []
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    if directives.get("script-src") != ["'self'"]:
        problems.append(f"script-src {directives.get('script-src')}")
    if directives.get("frame-ancestors") != ["'none'"]:
        problems.append("frame-ancestors")
    if directives.get("object-src") != ["'none'"] or directives.get("base-uri") != ["'none'"]:
        problems.append("object-src/base-uri")
    if "unsafe-inline" in csp or "unsafe-eval" in csp:
        problems.append("unsafe-* in CSP")
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("nosniff")
    if response.headers.get("Referrer-Policy") not in ("same-origin", "no-referrer",
                                                       "strict-origin-when-cross-origin"):
        problems.append("Referrer-Policy")
    if response.headers.get("X-Frame-Options") != "DENY":
        problems.append("X-Frame-Options")
    hsts = response.headers.get("Strict-Transport-Security")
    if https and (not hsts or "max-age=31536000" not in hsts):
        problems.append(f"HSTS over HTTPS: {hsts}")
    if not https and hsts:
        problems.append("HSTS over plain HTTP")
    if response.mimetype == "text/html":
        finder = InlineScriptFinder()
        finder.feed(response.get_data(as_text=True))
        problems += finder.found
    return problems


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_every_page_carries_the_security_headers_and_no_inline_script(
        module_app: Flask, world: World, clients: dict[str, RoleClient], https: bool) -> None:
    base = "https://localhost" if https else "http://localhost"
    wrong = []
    for endpoint in get_routes(module_app):
        for role in PAGE_ROLES:
            response = clients[role].client.get(url(module_app, world, endpoint, role),
                                                 base_url=base)
            wrong += [f"{endpoint} as {role}: {p}" for p in check_headers(response, https)]
    # Error pages too.
    for path in ("/nulle-part", f"/{DEMO}/agent/tickets/INCONNU"):
        response = clients["cabinet"].client.get(path, base_url=base)
        wrong += [f"{path}: {p}" for p in check_headers(response, https)]
    assert not wrong, "\n".join(wrong)


def test_the_session_cookie_is_http_only_and_same_site(module_app: Flask) -> None:
    from tests.conftest import DEMO_PASSWORD, csrf_token

    client = module_app.test_client()
    page = f"/{DEMO}/agent/connexion"
    token = csrf_token(client, page)
    response = client.post(page, data={
        "email": "elu@champignac.example", "password": DEMO_PASSWORD, "csrf_token": token})
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    assert all("HttpOnly" in c and "SameSite=Lax" in c for c in cookies)


# --- GET changes nothing -----------------------------------------------------------------------


def test_no_get_route_changes_the_database(
        module_app: Flask, world: World, clients: dict[str, RoleClient]) -> None:
    changed = []
    for endpoint in get_routes(module_app):
        targets = {role: url(module_app, world, endpoint, role)
                   for role in ("anonyme", "cabinet", "agent_voirie", "elu")}
        before = count_rows(module_app)
        for role, target in targets.items():
            clients[role].client.get(target)
        after = count_rows(module_app)
        if after != before:
            diff = {k: after[k] - before[k] for k in after if after[k] != before[k]}
            changed.append(f"GET {endpoint}: {diff}")
    assert not changed, "\n".join(changed)


# --- junk filter and sort values ------------------------------------------------------------


def test_junk_filter_and_sort_values_never_break_a_page(
        module_app: Flask, world: World, clients: dict[str, RoleClient]) -> None:
    """The page's status without the junk, or 400/422: never a server error."""
    broken = []
    for endpoint in get_routes(module_app):
        for role in ("anonyme", "cabinet"):
            base = url(module_app, world, endpoint, role)
            clean_response = clients[role].client.get(base)
            clean = clean_response.status_code
            if clean_response.mimetype == "application/pdf":
                continue  # a document of one ticket: no filter, and slow to render
            for junk in JUNK:
                query = "&".join(f"{name}={quote(junk)}" for name in FILTER_NAMES)
                response = clients[role].client.get(f"{base}?{query}")
                if response.status_code not in (clean, 400, 422):
                    broken.append(f"{endpoint} as {role} with {junk!r}: {response.status_code}"
                                  f" (clean: {clean})")
    assert not broken, "\n".join(broken)


def test_a_nul_character_is_refused_wherever_it_is_typed(
        module_app: Flask, world: World, clients: dict[str, RoleClient]) -> None:
    """PostgreSQL refuses NUL in text: a 400, not a server error, whatever the field."""
    agent, citizen = clients["cabinet"], clients["anonyme"]
    ticket = url(module_app, world, "agent.ticket")
    assert agent.client.get(f"/{DEMO}/agent/recherche?q=a%00b").status_code == 400
    assert agent.client.get(f"/{DEMO}/agent/tickets/2026%00").status_code == 400
    assert agent.client.post(f"{ticket}/note", data={
        "csrf_token": agent.token, "body": "a\x00b"}).status_code == 400
    assert citizen.client.post(f"/{DEMO}/suivi", data={
        "csrf_token": citizen.token, "code": "AB\x00", "verifier": "x"}).status_code == 400


def test_a_junk_queue_filter_gives_the_default_queue(
        world: World, clients: dict[str, RoleClient]) -> None:
    client = clients["cabinet"].client
    world.ticket(target_of("cabinet", "own"), fresh=False)
    default = client.get(f"/{DEMO}/agent/").get_data(as_text=True)
    junk = client.get(f"/{DEMO}/agent/?status=%27+OR+1%3D1+--&service=x%27&apres=zz_1"
                      ).get_data(as_text=True)
    token = re.compile(r'name="csrf_token"[^>]*>')  # signed with the time: differs by the second
    assert token.sub("", default) == token.sub("", junk)


# --- outgoing mail: one header per field, whatever the citizen typed ------------------------------


def built_mails(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Run the outbox with Flask-Mail building each message; return the built bytes."""
    import ticketing.jobs as jobs

    built: list[bytes] = []

    class Capture:
        def __init__(self, _mail: object) -> None:
            pass

        def __enter__(self) -> Capture:
            return self

        def __exit__(self, *_exc: object) -> None:
            return None

        def send(self, message) -> None:  # type: ignore[no-untyped-def]
            if message.has_bad_headers():  # Flask-Mail would refuse it: never delivered
                unsendable.append(f"{message.subject!r} to {message.recipients}")
                raise ValueError("bad headers")
            built.append(message.as_bytes())

    unsendable: list[str] = []
    monkeypatch.setattr(jobs, "_TimedConnection", Capture)
    report = jobs.run_outbox(app)
    assert not unsendable, unsendable
    assert report.dead == 0 and report.retried == 0, report
    return built


def test_names_and_subjects_cannot_add_mail_headers(
        module_app: Flask, world: World, clients: dict[str, RoleClient],
        monkeypatch: pytest.MonkeyPatch) -> None:
    built_mails(module_app, monkeypatch)  # earlier tests' mail out of the way
    citizen = clients["anonyme"]
    injected = "\r\nBcc: victim@evil.example\r\nX-Injected: 1"
    response = citizen.client.post(f"/{DEMO}/demande", data={
        "csrf_token": citizen.token, "category": "eclairage-panne",
        "extra_adresse_incident": "12 rue des Lilas", "extra_numero_candelabre": "EP-1",
        "subject": f"Lampadaire{injected}", "first_name": f"Camille{injected}",
        "last_name": f"Martin{injected}", "email": "camille@example.org",
        "description": "Le lampadaire ne s'allume plus."})
    assert response.status_code in (303, 400)
    agent = clients["cabinet"]
    ticket_url = url(module_app, world, "agent.ticket")
    response = agent.client.post(f"{ticket_url}/reponse", data={
        "csrf_token": agent.token, "subject": f"Votre demande{injected}",
        "body": "Bonjour,\r\nBcc: victim@evil.example\r\nc'est réparé.", "status": "answered"})
    assert response.status_code == 303
    mails = built_mails(module_app, monkeypatch)
    subjects = [str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])
                for raw in mails]
    assert any("Votre demande" in subject for subject in subjects), subjects
    for raw in mails:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        for name in ("Subject", "To", "From", "Message-ID"):
            assert len(message.get_all(name) or []) <= 1, (name, raw[:400])
        assert message.get_all("Bcc") is None and message.get_all("X-Injected") is None, raw
        assert "evil.example" not in str(message["To"])


# --- user files -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "../../config/communes/champignac-en-cambrousse/roles.yaml", "..%2F..%2Fpyproject.toml",
    "/etc/passwd", "%2e%2e/templates/base.html"])
def test_theme_files_stay_inside_the_static_folders(
        clients: dict[str, RoleClient], path: str) -> None:
    response = clients["anonyme"].client.get(f"/theme/{DEMO}/{path}", follow_redirects=True)
    assert response.status_code == 404, path


def test_user_files_are_downloads_behind_random_ids(
        module_app: Flask, world: World, clients: dict[str, RoleClient]) -> None:
    client = clients["cabinet"].client
    from tests.security.conftest import file_ticket

    first = file_ticket(module_app, DEMO, "cabinet", with_file=True)[2]
    second = file_ticket(module_app, DEMO, "cabinet", with_file=True)[2]
    assert first and second and len(first) >= 24 and first[:6] != second[:6]
    response = client.get(f"/{DEMO}/agent/pieces/{first}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype != "text/html"
    raw = client.get(url(module_app, world, "mail_admin.raw_message"))
    assert raw.headers["Content-Disposition"].startswith("attachment")
    assert raw.mimetype == "message/rfc822"


def test_no_personal_data_in_the_urls_of_agent_pages(
        module_app: Flask, world: World, clients: dict[str, RoleClient]) -> None:
    from tests.security.conftest import file_ticket

    file_ticket(module_app, DEMO, "voirie", subject="Trottoir")
    links = []
    for endpoint in get_routes(module_app):
        response = clients["cabinet"].client.get(url(module_app, world, endpoint))
        if response.mimetype == "text/html":
            finder = LinkFinder()
            finder.feed(response.get_data(as_text=True))
            links += finder.links
    leaking = [link for link in links
               if any(secret in link.lower() for secret in ("martin", "camille", "%40", "@"))]
    assert not leaking, leaking


class LinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [value or "" for name, value in attrs if name in ("href", "action", "src")
                       and not (value or "").startswith("mailto:")]


# --- SQL ------------------------------------------------------------------------------------------


SQL_CALLS = {"text", "exec_driver_sql", "literal_column"}
# Functions that put an identifier (never a value) into SQL text, from their module's own
# constants; reviewed one by one.
IDENTIFIERS_ONLY = {
    ("ticketing/search/backends.py", "_rowids"),  # FTS5 index names; MATCH bound
    ("ticketing/search/backends.py", "_matches"),  # table names of the search columns
}


def test_sql_text_is_never_built_from_strings_at_run_time() -> None:
    """``text()`` and friends take literals only; values go through bound parameters."""
    built = []
    for folder in ("ticketing", "mail_ingest"):
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            built += _dynamic_sql(path)
    assert not built, built


def _dynamic_sql(path: Path) -> list[str]:
    found = []
    relative = path.relative_to(REPO_ROOT).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    owner: dict[int, str] = {}  # node → innermost function (walk goes outside in)
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            owner.update((id(node), function.name) for node in ast.walk(function))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
            node.func, "id", "")
        where = owner.get(id(node), "")
        if (name in SQL_CALLS and not isinstance(node.args[0], ast.Constant)
                and (relative, where) not in IDENTIFIERS_ONLY):
            found.append(f"{relative}:{node.lineno} in {where or 'module'}")
    return found
