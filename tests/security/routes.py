"""How the security tests reach every route: one ticket, file and quarantined mail per
commune and service, and the URL of a rule for a role and an object of the matrix."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Flask

from tests.security.conftest import DEMO, OTHER, file_ticket, quarantine_mail
from tests.security.expected_matrix import ACCOUNTS
from ticketing.operations.intake import CitizenDetails

IGNORED_METHODS = {"HEAD", "OPTIONS"}
RAW_MAIL = b"From: x@example.org\r\nSubject: test\r\n\r\nillisible\r\n"


@dataclass(frozen=True)
class Target:
    """What one cell of the matrix requests: a commune and a ticket of a service."""

    commune: str
    service: str | None = None


class World:
    """The tickets, files and mail the matrix walks, filed once per module."""

    def __init__(self, app: Flask):
        self.app = app
        self._shared: dict[Target, tuple[str, str | None]] = {}
        self._twins: dict[tuple[Target, str], tuple[str, str | None]] = {}
        self.messages = {commune: quarantine_mail(app, commune, RAW_MAIL + commune.encode())
                         for commune in (DEMO, OTHER)}
        # An agent of each commune for the administration pages to act on (not a demo
        # account: deactivating it must not sign a role of the matrix out).
        self.agents = {commune: spare_agent(app, commune) for commune in (DEMO, OTHER)}

    def twin(self, target: Target) -> tuple[str, str | None]:
        """Another ticket of the same service (to link, merge…), filed once."""
        if (target, "twin") not in self._twins:
            self._twins[target, "twin"] = self.ticket(target, fresh=True)
        return self._twins[target, "twin"]

    def citizen_of(self, commune: str, number: str) -> int:
        return citizen_id_of(self.app, commune, number)

    def ticket(self, target: Target, fresh: bool) -> tuple[str, str | None]:
        """(number, attachment id) of a ticket of ``target``; ``fresh``: a new one."""
        assert target.service is not None
        if fresh or target not in self._shared:
            # One citizen per service: a citizen's page is seen through their tickets.
            citizen = CitizenDetails(last_name=f"Usager-{target.service}", first_name="Camille",
                                     email=f"usager.{target.service}@example.org")
            number, _code, public_id = file_ticket(self.app, target.commune, target.service,
                                                   with_file=not fresh, citizen=citizen)
            if fresh:
                return number, public_id
            self._shared[target] = (number, public_id)
        return self._shared[target]


def citizen_id_of(app: Flask, commune: str, number: str) -> int:
    """Ticket numbers restart in every commune: the commune tells which ticket."""
    from sqlalchemy import select

    from ticketing.models import Ticket
    from ticketing.web.extensions import db

    commune_id = app.extensions["aiguillage"].commune_ids[commune]
    with app.app_context():
        return int(db.session.scalar(select(Ticket.citizen_id).where(
            Ticket.number == number, Ticket.commune_id == commune_id)))


def spare_agent(app: Flask, commune: str) -> tuple[int, int]:
    """(agent id, membership id) of a new agent of ``commune``."""
    from ticketing.operations.accounts import create_agent
    from ticketing.operations.events import Actor
    from ticketing.web.extensions import db

    service = ACCOUNTS["courrier" if commune == DEMO else "trifouillis"][2]
    with app.app_context():
        agent = create_agent(db.session, app.extensions["aiguillage"].commune_ids[commune],
                             f"cible@{commune}.example", "Agent Cible", "mot-de-passe-cible-2026",
                             Actor.system("test"), memberships=[(service, "agent")],
                             password_hash="x")
        db.session.commit()
        return agent.id, agent.memberships[0].id


def target_of(role: str, column: str) -> Target:
    _email, commune, own, other = ACCOUNTS[role]
    elsewhere = OTHER if commune == DEMO else DEMO
    if column == "own":
        return Target(commune, own)
    if column == "other":
        return Target(commune, other)
    if column == "elsewhere":
        return Target(elsewhere, "accueil" if elsewhere == OTHER else "voirie")
    return Target(commune)


PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def url_for_cell(world: World, rule_text: str, target: Target, fresh: bool) -> str:
    number = public_id = None
    if any(f"<{name}>" in rule_text or f":{name}>" in rule_text
           for name in ("number", "public_id", "citizen_id")):
        number, public_id = world.ticket(target, fresh)
    values = {"commune": target.commune, "number": number, "public_id": public_id,
              "message_id": world.messages[target.commune], "fmt": "csv",
              "slug": "default", "filename": "aiguillage.css",
              # Objects the matrix does not build yet: unknown ids (see the report).
              "token": "jeton-inconnu", "kind": "courrier", "service": "voirie",
              "register_number": "0", "draft_id": 0, "entry_id": 0,
              "other_number": world.twin(target)[0] if number else None,
              "citizen_id": world.citizen_of(target.commune, number) if number else None,
              "agent_id": world.agents[target.commune][0],
              "membership_id": world.agents[target.commune][1]}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert values.get(name) is not None, (
            f"{rule_text}: no value for <{name}>; teach url_for_cell in {__name__}")
        return str(values[name])

    return PARAMETER.sub(value, rule_text)


def route_methods(app: Flask) -> set[tuple[str, str]]:
    return {(rule.endpoint, method) for rule in app.url_map.iter_rules()
            for method in rule.methods or () if method not in IGNORED_METHODS}
