"""WSGI entry point for a production server (e.g. ``waitress-serve wsgi:app``).

Background jobs run in ``aiguillage serve``.
"""

from ticketing.web import create_app

app = create_app()
