"""The cabinet pilot's figures: overdue lists, indicators, exports and SVG charts.

Plain functions over a SQLAlchemy session (no Flask): the web pages, the exports and the
benchmark all call the same queries, so an export holds exactly what the page shows.
"""
