"""Commune configuration: YAML files validated into typed objects."""

from ticketing.config.loader import (
    CommuneConfig,
    ConfigInvalid,
    ConfigProblem,
    load_all,
    load_commune,
)

__all__ = ["CommuneConfig", "ConfigInvalid", "ConfigProblem", "load_all", "load_commune"]
