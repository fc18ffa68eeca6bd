"""Demo accounts for the shipped demo communes (agents are data, created here, not in YAML)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.models import Agent
from ticketing.operations.accounts import create_agent, hash_password
from ticketing.operations.events import Actor

DEMO_PASSWORD = "demo-aiguillage-2026"


@dataclass(frozen=True)
class DemoAccount:
    commune: str
    email: str
    full_name: str
    title: str
    memberships: tuple[tuple[str, str], ...]


DEMO_ACCOUNTS = (
    DemoAccount("champignac-en-cambrousse", "courrier@champignac.example", "Gaston Lagaffe",
                "Agent d'accueil et du courrier", (("courrier", "courrier"),)),
    DemoAccount("champignac-en-cambrousse", "chef.voirie@champignac.example", "Léon Prunelle",
                "Chef du service Voirie", (("voirie", "chef_de_service"),)),
    DemoAccount("champignac-en-cambrousse", "agent.voirie@champignac.example", "Yves Lebrac",
                "Technicien voirie", (("voirie", "agent"),)),
    DemoAccount("champignac-en-cambrousse", "agent.eclairage@champignac.example",
                "Jeanne Fantasio", "Agente de l'éclairage public", (("eclairage", "agent"),)),
    DemoAccount("champignac-en-cambrousse", "cabinet@champignac.example", "Seccotine Marsu",
                "Directrice de cabinet", (("cabinet", "cabinet"),)),
    DemoAccount("champignac-en-cambrousse", "dgs@champignac.example", "Aimé De Mesmaeker",
                "Directeur général des services", (("cabinet", "dgs"),)),
    DemoAccount("champignac-en-cambrousse", "elu@champignac.example", "Pacôme de Champignac",
                "Adjoint au maire", (("cabinet", "elu"),)),
    DemoAccount("champignac-en-cambrousse", "admin@champignac.example", "Jules Boulier",
                "Administrateur de l'application", (("cabinet", "administrateur"),)),
    DemoAccount("trifouillis-les-oies", "accueil@trifouillis.example", "Aimé Demaison",
                "Agent d'accueil", (("accueil", "agent"),)),
)


@lru_cache(maxsize=1)
def _demo_password_hash() -> str:
    """Argon2 is slow on purpose; every demo account shares one password, so hash it once."""
    return hash_password(DEMO_PASSWORD)


def create_demo_accounts(session: Session, commune_ids: dict[str, int]) -> list[DemoAccount]:
    """Create the demo accounts that are missing; return those of the communes present."""
    created = []
    shared_hash = _demo_password_hash()
    for account in DEMO_ACCOUNTS:
        commune_id = commune_ids.get(account.commune)
        if commune_id is None:
            continue
        exists = session.scalar(
            select(Agent.id).where(Agent.commune_id == commune_id, Agent.email == account.email)
        )
        if exists is None:
            create_agent(session, commune_id, account.email, account.full_name, DEMO_PASSWORD,
                         Actor.system("démonstration"), title=account.title,
                         memberships=list(account.memberships), password_hash=shared_hash)
        created.append(account)
    return created
