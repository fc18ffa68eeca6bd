"""Finding tickets: by number, tracking code, citizen, and the full text of their thread.

One interface (``ticketing.search.service``) over two index backends, both kept up to date
by the database itself whatever writes the rows: SQLite FTS5 tables fed by triggers, and
PostgreSQL generated ``tsvector`` columns with GIN indexes (``ticketing.search.backends``).
This package imports no model at load time, so that ``ticketing.models`` can load
``sqlite_functions`` (the SQL functions the SQLite triggers call).
"""
