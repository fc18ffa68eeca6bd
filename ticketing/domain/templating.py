"""Reply templates: rendered in a sandboxed Jinja environment with a fixed set of variables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_ENV.filters["date_fr"] = lambda d: d.strftime("%d/%m/%Y") if d else ""

TEMPLATE_VARIABLES = ("citizen", "ticket", "service", "agent", "commune", "today")


@dataclass(frozen=True)
class RenderedReply:
    subject: str
    body: str


def render_text(source: str, context: dict[str, Any]) -> str:
    return _ENV.from_string(source).render(context)


def template_error(source: str) -> str | None:
    """Why ``source`` would fail when an agent uses it, or None if it renders."""
    try:
        unknown = unknown_names(source)
        if unknown:
            return f"unknown variable {unknown[0]!r}; {_attributes_hint()}"
        render_text(source, sample_context())
    except UndefinedError as exc:
        return f"{exc.message}; {_attributes_hint()}"
    except TemplateError as exc:
        line = f" (line {exc.lineno} of the template)" if getattr(exc, "lineno", None) else ""
        return f"{exc.message or exc}{line}"
    except Exception as exc:  # noqa: BLE001 - e.g. a filter applied to the wrong type
        return f"{type(exc).__name__}: {exc}"
    return None


def unknown_names(source: str) -> list[str]:
    """Variables and attributes used anywhere in ``source`` (even in a branch the sample
    values never take) that no reply context offers, e.g. ``citizen.nom``."""
    sample = sample_context()
    tree = _ENV.parse(source)
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    unknown = sorted(meta.find_undeclared_variables(tree) - set(sample) - assigned)
    for node in tree.find_all(nodes.Getattr):
        owner = node.node
        if isinstance(owner, nodes.Name) and isinstance(sample.get(owner.name), SimpleNamespace):
            if not hasattr(sample[owner.name], node.attr):
                unknown.append(f"{owner.name}.{node.attr}")
    return unknown


def _attributes_hint() -> str:
    parts = []
    for name, value in sample_context().items():
        if isinstance(value, SimpleNamespace):
            parts.append(f"{name} has {', '.join(vars(value))}")
    return "; ".join(parts)


def sample_context() -> dict[str, Any]:
    """Stand-in values with every attribute a real reply context offers."""
    return {
        "citizen": SimpleNamespace(
            first_name="Camille", last_name="Martin", full_name="Camille Martin",
            email="camille@example.org", phone="0600000000", address="1 rue de la Paix",
        ),
        "ticket": SimpleNamespace(
            number="2026-000001", tracking_code="ABCD-EFGH", subject="Objet",
            received_on=date(2026, 1, 5), answer_due=date(2026, 1, 12),
            category="Catégorie", channel="web",
        ),
        "service": SimpleNamespace(name="Voirie", email="voirie@example.org", phone="0100000000",
                                   address="Mairie"),
        "agent": SimpleNamespace(full_name="Dominique Agent", title="Agent", service="Voirie"),
        "commune": SimpleNamespace(name="Commune", phone="0100000000", email="mairie@example.org",
                                   address="Mairie", mayor="Maire"),
        "today": date(2026, 1, 6),
    }
