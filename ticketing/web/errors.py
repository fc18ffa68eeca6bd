"""Start-up errors of the web application that the CLI reports without a traceback."""


class DatabaseNotReady(RuntimeError):
    """The schema is missing or old: run ``aiguillage db upgrade``."""
