"""Script payloads typed by citizens, agents and mail senders never run in Chromium.

Payloads go in through the public form (name, subject, description, place, extra
fields), the tracking lookup, an agent's note and reply, and a mail (subject, sender's
name, text and HTML body, attachment filename) and the quarantine list; then every page
showing them is opened in Debian's Chromium. Any dialog, page error or Content Security
Policy refusal fails the test, as does an element the payloads would create; the payloads
must read as plain text where they are shown.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.conftest import DEMO, DEMO_PASSWORD
from tests.security.conftest import PNG, file_ticket, quarantine_mail, role_client

SCRIPT = "<script>alert('script')</script>"
IMG = '"><img src=x onerror=alert(\'img\')>'
SVG = "'><svg onload=alert('svg')>"
JS_LINK = "javascript:alert('lien')"
TEMPLATE = "{{7*'7'}}"  # evaluated by a template engine: 7777777, found in no page
CLOSERS = "</textarea></title><script>alert('fin')</script>"
PAYLOADS = (SCRIPT, IMG, SVG, JS_LINK, TEMPLATE, CLOSERS)
ALL = " ".join(PAYLOADS)
# Elements the payloads would create if the markup were not escaped.
INJECTED = ("img[src='x'], svg[onload], [onerror], [onload], a[href^='javascript:'], "
            "script:not([src])")
CITIZEN_EMAIL = "camille.xss@example.org"


@dataclass
class Seeded:
    web_number: str
    web_code: str
    mail_number: str
    mail_filename: str
    quarantined: int


def _raw_mail() -> bytes:
    message = EmailMessage()
    message["From"] = f'"{IMG}" <expediteur@example.org>'
    message["To"] = "mairie@champignac.example"
    message["Subject"] = f"{SCRIPT} {TEMPLATE}"
    message["Message-ID"] = "<xss-1@example.org>"
    message.set_content(f"Bonjour,\n{ALL}\nCordialement")
    message.add_alternative(
        f"<p>Bonjour {SVG}</p><script>alert('html')</script>"
        f"<img src=x onerror=alert('html-img')><a href=\"{JS_LINK}\">lien</a>"
        f"<iframe src=\"{JS_LINK}\"></iframe><p style=\"background:url(javascript:alert(1))\">"
        f"{TEMPLATE}</p>", subtype="html")
    message.add_attachment(PNG, maintype="image", subtype="png",
                           filename=f"{IMG}{TEMPLATE}.png")
    return message.as_bytes()


def _ingest_mail(app: Flask) -> str:
    from mail_ingest.apply import DatabaseThreadLookup, apply_decision
    from mail_ingest.decide import decide
    from mail_ingest.parse import parse_mail
    from ticketing.config.schema import Mailbox
    from ticketing.models import Ticket
    from ticketing.web.extensions import db

    ctx = app.extensions["aiguillage"].context(DEMO)
    mailbox = Mailbox(name="mairie", host="127.0.0.1", username="mairie",
                      password_env="AIGUILLAGE_UNUSED", service_hint="voirie",
                      addresses=["mairie@champignac.example"])
    mail = parse_mail(_raw_mail(), frozenset(mailbox.addresses))
    with app.app_context():
        decision = decide(mail, ctx.commune_id, DatabaseThreadLookup(db.session, ctx.commune_id),
                          ctx.signing_key)
        applied = apply_decision(db.session, ctx, mailbox, mail, decision)
        db.session.commit()
        return db.session.scalar(select(Ticket.number).where(Ticket.id == applied.ticket_id))


def _seed(app: Flask) -> Seeded:
    from ticketing.models import Ticket
    from ticketing.web.extensions import db

    citizen = role_client(app, "citoyen", None, DEMO)
    response = citizen.client.post(f"/{DEMO}/demande", data={
        "csrf_token": citizen.token, "category": "eclairage-panne",
        "subject": f"{SCRIPT} {TEMPLATE}", "description": ALL,
        "first_name": IMG[:100], "last_name": SVG, "email": CITIZEN_EMAIL,
        "address": f"{CLOSERS} {JS_LINK}", "extra_adresse_incident": SCRIPT + SVG,
        "extra_numero_candelabre": "EP-1"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    with app.app_context():
        ticket = db.session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()
        number, code = ticket.number, ticket.tracking_code
    agent = role_client(app, "cabinet", "cabinet@champignac.example", DEMO)
    page = f"/{DEMO}/agent/tickets/{number}"
    assert agent.client.post(f"{page}/note", data={
        "csrf_token": agent.token, "body": ALL}).status_code == 303
    assert agent.client.post(f"{page}/reponse", data={
        "csrf_token": agent.token, "subject": f"{SCRIPT} {TEMPLATE}", "body": ALL,
        "status": "answered"}).status_code == 303
    file_ticket(app, DEMO, "eclairage", subject=IMG)  # a second row in the lists
    return Seeded(
        web_number=number, web_code=code, mail_number=_ingest_mail(app),
        mail_filename=f"{IMG}{TEMPLATE}.png",
        quarantined=quarantine_mail(app, DEMO, b"Subject: x\r\n\r\nx", subject=ALL[:300],
                                    from_address=SVG, reason=ALL))


@pytest.fixture(scope="module")
def seeded(module_app: Flask) -> Seeded:
    return _seed(module_app)


@pytest.fixture(scope="module")
def server(module_app: Flask) -> Iterator[str]:
    live = make_server("127.0.0.1", 0, module_app, threaded=True)
    thread = threading.Thread(target=live.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{live.server_port}"
    live.shutdown()
    thread.join(timeout=5)


class Watched:
    """A page whose dialogs, script errors and CSP refusals are recorded."""

    def __init__(self, browser) -> None:  # type: ignore[no-untyped-def]
        self.context = browser.new_context(locale="fr-FR")
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        self.page.on("console", self._console)

    def _dialog(self, dialog) -> None:  # type: ignore[no-untyped-def]
        self.problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def _console(self, message) -> None:  # type: ignore[no-untyped-def]
        text = message.text
        if message.type == "error" and re.search(
                r"Content Security Policy|Refused to (execute|load|evaluate)", text):
            self.problems.append(f"console: {text}")

    def visit(self, url: str) -> str:
        response = self.page.goto(url)
        assert response is not None and response.status < 500, (url, response and response.status)
        return self.check(url)

    def check(self, where: str) -> str:
        """The page's visible text, after checking that no payload became markup."""
        self.page.wait_for_load_state("load")
        injected = self.page.eval_on_selector_all(
            INJECTED, "nodes => nodes.map(n => n.outerHTML.slice(0, 120))")
        assert not injected, (where, injected)
        assert not self.problems, (where, self.problems)
        return self.page.inner_text("body")


@pytest.fixture
def agent(browser, server: str) -> Iterator[Watched]:  # type: ignore[no-untyped-def]
    watched = Watched(browser)
    watched.page.goto(f"{server}/{DEMO}/agent/connexion")
    watched.page.fill("input[name=email]", "cabinet@champignac.example")
    watched.page.fill("input[name=password]", DEMO_PASSWORD)
    watched.page.click("button[type=submit], input[type=submit]")
    watched.page.wait_for_url(re.compile(r"/agent/$"))
    yield watched
    watched.context.close()


@pytest.fixture
def citizen(browser) -> Iterator[Watched]:  # type: ignore[no-untyped-def]
    watched = Watched(browser)
    yield watched
    watched.context.close()


def test_agent_pages_show_the_payloads_as_text(agent: Watched, server: str,
                                                seeded: Seeded) -> None:
    base = f"{server}/{DEMO}/agent"
    queue = agent.visit(f"{base}/?status=all")
    assert SCRIPT in queue and TEMPLATE in queue

    ticket = agent.visit(f"{base}/tickets/{seeded.web_number}")
    for payload in (SCRIPT, IMG, SVG, JS_LINK, TEMPLATE):
        assert payload in ticket, payload
    assert "7777777" not in ticket

    mail = agent.visit(f"{base}/tickets/{seeded.mail_number}")
    assert SCRIPT in mail and TEMPLATE in mail
    assert "onerror=alert('img')" in mail  # the sender's name, or the file's name

    quarantine = agent.visit(f"{base}/courriels/quarantaine")
    assert SCRIPT in quarantine


def test_every_agent_page_stays_inert(agent: Watched, server: str, seeded: Seeded,
                                      module_app: Flask) -> None:
    """Every GET page of the agent area without URL parameters (lists, pilot, search…),
    with a payload as the search words where a page takes some."""
    pages = sorted({rule.rule.replace("<commune>", DEMO) for rule in module_app.url_map.iter_rules()
                    if rule.rule.startswith("/<commune>/agent/") and "GET" in (rule.methods or ())
                    and rule.arguments == {"commune"} and not rule.rule.endswith(
                        (".csv", ".xlsx", ".json", ".pdf", "deconnexion"))})
    assert len(pages) > 5
    for path in pages:
        agent.visit(f"{server}{path}?q={SCRIPT}&status=all")


def test_tracking_pages_show_the_payloads_as_text(citizen: Watched, server: str,
                                                  seeded: Seeded) -> None:
    page = citizen.page
    citizen.visit(f"{server}/{DEMO}/suivi")
    page.fill("input[name=code]", SCRIPT[:40])
    page.fill("input[name=verifier]", IMG)
    page.click("main button[type=submit], main input[type=submit]")
    citizen.check("tracking lookup with payloads")

    citizen.visit(f"{server}/{DEMO}/suivi")
    page.fill("input[name=code]", seeded.web_code)
    page.fill("input[name=verifier]", CITIZEN_EMAIL)
    page.click("main button[type=submit], main input[type=submit]")
    status = citizen.check("tracking status page")
    assert SCRIPT in status and TEMPLATE in status
