"""The agent side: login, service queues, ticket view and actions."""

from flask import Blueprint

bp = Blueprint("agent", __name__, url_prefix="/<commune>/agent")
