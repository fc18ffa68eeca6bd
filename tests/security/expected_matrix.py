"""The expected authorisation matrix: every route of the app, every demo role, every object.

``test_route_matrix.py`` walks ``app.url_map`` and fails on any route missing here, so a
new route cannot ship without someone deciding who may use it.

Roles are the demo accounts (``ticketing/demo.py``) plus "anonyme" (not signed in). Each
role works in its own commune: Champignac for all but "trifouillis".

Objects (the columns):
- a route taking a ticket (``number``) or one of its files (``public_id``):
  ``own`` = a ticket of the role's own service, ``other`` = a ticket of another service
  of the same commune, ``elsewhere`` = a ticket of the other commune, at that commune's
  URL (the role being signed in to its own commune only);
- a commune's route without ticket: ``here`` = the role's commune, ``elsewhere`` = the
  other commune;
- a route outside any commune: ``none``.

Values: an HTTP status; ``LOGIN`` = 302 to the agent login page; ``OK`` = an allowed
POST (it ran: 200, a redirect other than to the login page, 400 or 422). A denied POST
(403/404, or LOGIN) must leave the database unchanged. A tuple gives one value per
object column, a single value applies to every column. Keys list role groups
(space-separated); every role appears exactly once per row.
"""

from __future__ import annotations

LOGIN = "login"
OK = "ok"

ROLES = ("anonyme", "courrier", "chef_voirie", "agent_voirie", "agent_eclairage", "cabinet",
         "dgs", "elu", "admin", "trifouillis")

# role: (e-mail or None, commune, own service, another service of the same commune)
ACCOUNTS = {
    "anonyme": (None, "champignac-en-cambrousse", "voirie", "eclairage"),
    "courrier": ("courrier@champignac.example", "champignac-en-cambrousse", "courrier",
                 "voirie"),
    "chef_voirie": ("chef.voirie@champignac.example", "champignac-en-cambrousse", "voirie",
                    "eclairage"),
    "agent_voirie": ("agent.voirie@champignac.example", "champignac-en-cambrousse", "voirie",
                     "eclairage"),
    "agent_eclairage": ("agent.eclairage@champignac.example", "champignac-en-cambrousse",
                        "eclairage", "voirie"),
    "cabinet": ("cabinet@champignac.example", "champignac-en-cambrousse", "cabinet", "voirie"),
    "dgs": ("dgs@champignac.example", "champignac-en-cambrousse", "cabinet", "voirie"),
    "elu": ("elu@champignac.example", "champignac-en-cambrousse", "cabinet", "voirie"),
    "admin": ("admin@champignac.example", "champignac-en-cambrousse", "cabinet", "voirie"),
    "trifouillis": ("accueil@trifouillis.example", "trifouillis-les-oies", "accueil",
                    "technique"),
}

TICKET = ("own", "other", "elsewhere")
COMMUNE = ("here", "elsewhere")
SITE = ("none",)

# Role groups used below.
SIGNED_IN = ("courrier chef_voirie agent_voirie agent_eclairage cabinet dgs elu admin "
             "trifouillis")
EVERYONE = f"anonyme {SIGNED_IN}"
SERVICE_AGENTS = "courrier chef_voirie agent_voirie agent_eclairage trifouillis"
PILOTS = "chef_voirie cabinet dgs"  # view_dashboard (and export) on some service
NOT_PILOTS = "courrier agent_voirie agent_eclairage elu admin trifouillis"

# The pages of a ticket: its own service's agents see it; cabinet, DGS and élu see every
# service; the administrator sees no ticket content; nobody sees the other commune's.
VIEW_TICKET = {
    "anonyme": LOGIN,
    SERVICE_AGENTS: (200, 404, 404),
    "cabinet dgs elu": (200, 200, 404),
    "admin": 404,
}


def ticket_action(*, dgs: object, elu: object = (403, 403, 404)) -> dict[str, object]:
    """A POST on a ticket: allowed to its service's agents and the cabinet; the DGS and
    the élu see the ticket (403 when they lack the permission)."""
    return {
        "anonyme": LOGIN,
        SERVICE_AGENTS: (OK, 404, 404),
        "cabinet": (OK, OK, 404),
        "dgs": dgs,
        "elu": elu,
        "admin": 404,
    }


PILOT_PAGE = {"anonyme": LOGIN, PILOTS: (200, 404), NOT_PILOTS: (403, 404)}

# A signed-in agent's own pages (account, search): in its commune only.
OWN_PAGE = {"anonyme": LOGIN, SIGNED_IN: (200, 404)}
OWN_POST = {"anonyme": LOGIN, SIGNED_IN: (OK, 404)}

# The administration of agents: manage_users (the administrator only).
MANAGE_USERS = {"anonyme": LOGIN, "admin": (200, 404),
                "courrier chef_voirie agent_voirie agent_eclairage cabinet dgs elu trifouillis":
                    (403, 404)}
MANAGE_USERS_POST = {**MANAGE_USERS, "admin": (OK, 404)}

# The audit log: view_audit (cabinet, DGS, administrator).
VIEW_AUDIT = {"anonyme": LOGIN, "cabinet dgs admin": (200, 404),
              "courrier chef_voirie agent_voirie agent_eclairage elu trifouillis": (403, 404)}

# Letters, calls and visits registered: register (courrier, cabinet, Trifouillis' agent).
REGISTER = {"anonyme": LOGIN, "courrier cabinet trifouillis": (200, 404),
            "chef_voirie agent_voirie agent_eclairage dgs elu admin": (403, 404)}
# The triage queue of the courrier service.
TRIAGE = {"anonyme": LOGIN, "courrier cabinet": (200, 404),
          "chef_voirie agent_voirie agent_eclairage dgs elu admin trifouillis": (403, 404)}

# Moving a ticket between services, linking, merging (transfer, copy, forward, merge):
# the courrier and the service heads on their services, the cabinet everywhere.
MOVE_TICKET = {
    "anonyme": LOGIN,
    "courrier chef_voirie": (OK, 404, 404),
    "agent_voirie agent_eclairage trifouillis": (403, 404, 404),
    "cabinet": (OK, OK, 404),
    "dgs elu": (403, 403, 404),
    "admin": 404,
}

# (endpoint, method): (object columns, expectations)
MATRIX: dict[tuple[str, str], tuple[tuple[str, ...], dict[str, object]]] = {
    # --- outside any commune ----------------------------------------------------------
    ("site.index", "GET"): (SITE, {EVERYONE: 200}),
    ("site.health", "GET"): (SITE, {EVERYONE: 200}),
    ("site.theme_file", "GET"): (SITE, {EVERYONE: 200}),
    # --- public pages -----------------------------------------------------------------
    ("public.home", "GET"): (COMMUNE, {EVERYONE: 200}),
    ("public.request_form", "GET"): (COMMUNE, {EVERYONE: 200}),
    ("public.request_form", "POST"): (COMMUNE, {EVERYONE: 303}),
    # Without a request just filed in this session: back to the form.
    ("public.confirmation", "GET"): (COMMUNE, {EVERYONE: 302}),
    ("public.tracking", "GET"): (COMMUNE, {EVERYONE: 200}),
    ("public.tracking", "POST"): (COMMUNE, {EVERYONE: 200}),
    # Only Champignac publishes its quality results.
    ("quality.results", "GET"): (COMMUNE, {
        "anonyme courrier chef_voirie agent_voirie agent_eclairage cabinet dgs elu admin":
            (200, 404),
        "trifouillis": (404, 200)}),
    # --- agent sign-in ----------------------------------------------------------------
    # Signed in: the login page sends to the queue; another commune's page is a login page.
    ("agent.login", "GET"): (COMMUNE, {"anonyme": 200, SIGNED_IN: (302, 200)}),
    ("agent.login", "POST"): (COMMUNE, {"anonyme": 422, SIGNED_IN: (302, 422)}),
    ("agent.logout", "POST"): (COMMUNE, {"anonyme": LOGIN, SIGNED_IN: (303, 404)}),
    # A second factor is asked only after a password: without one pending, back to login.
    ("account.second_factor", "GET"): (COMMUNE, {EVERYONE: 303}),
    ("account.second_factor", "POST"): (COMMUNE, {EVERYONE: OK}),
    ("account.forgot_password", "GET"): (COMMUNE, {EVERYONE: 200}),
    ("account.forgot_password", "POST"): (COMMUNE, {EVERYONE: OK}),
    # An unknown (or used, or expired) password link.
    ("account.new_password", "GET"): (COMMUNE, {EVERYONE: 410}),
    ("account.new_password", "POST"): (COMMUNE, {EVERYONE: 410}),
    ("account.change_password", "GET"): (COMMUNE, OWN_PAGE),
    ("account.change_password", "POST"): (COMMUNE, OWN_POST),
    ("account.totp_setup", "GET"): (COMMUNE, OWN_PAGE),
    ("account.totp_setup", "POST"): (COMMUNE, OWN_POST),
    ("account.totp_disable", "POST"): (COMMUNE, OWN_POST),
    # Single sign-on is not configured for the demo communes.
    ("sso.start", "GET"): (COMMUNE, {EVERYONE: 404}),
    ("sso.callback", "GET"): (COMMUNE, {EVERYONE: 404}),
    # --- the queue and tickets --------------------------------------------------------
    ("agent.queue", "GET"): (COMMUNE, {"anonyme": LOGIN, SIGNED_IN: (200, 404)}),
    ("agent.ticket", "GET"): (TICKET, VIEW_TICKET),
    ("agent.attachment", "GET"): (TICKET, VIEW_TICKET),
    ("agent.reply", "POST"): (TICKET, ticket_action(dgs=(403, 403, 404))),
    ("agent.note", "POST"): (TICKET, ticket_action(dgs=(OK, OK, 404))),
    ("agent.change_status", "POST"): (TICKET, ticket_action(dgs=(403, 403, 404))),
    ("agent.locate", "POST"): (TICKET, ticket_action(dgs=(403, 403, 404))),
    ("agent.take", "POST"): (TICKET, ticket_action(dgs=(403, 403, 404))),
    ("agent_register.slip", "GET"): (TICKET, VIEW_TICKET),
    ("agent_contacts.add", "POST"): (TICKET, ticket_action(dgs=(403, 403, 404))),
    ("agent_contacts.remove", "POST"): (TICKET, ticket_action(dgs=(403, 403, 404))),
    # "Who is looking at this ticket": anyone who may view it.
    ("agent_dispatch.viewing", "POST"): (TICKET, {
        "anonyme": LOGIN, SERVICE_AGENTS: (OK, 404, 404), "cabinet dgs elu": (OK, OK, 404),
        "admin": 404}),
    ("agent_dispatch.mention", "POST"): (TICKET, ticket_action(dgs=(OK, OK, 404))),
    ("agent_dispatch.assign", "POST"): (TICKET, ticket_action(dgs=(403, 403, 404))),
    ("agent_dispatch.dispatch", "POST"): (TICKET, MOVE_TICKET),
    ("agent_dispatch.transfer", "POST"): (TICKET, MOVE_TICKET),
    ("agent_dispatch.copy", "POST"): (TICKET, MOVE_TICKET),
    ("agent_dispatch.uncopy", "POST"): (TICKET, MOVE_TICKET),
    ("agent_dispatch.forward", "POST"): (TICKET, MOVE_TICKET),
    ("agent_dispatch.split", "POST"): (TICKET, MOVE_TICKET),
    ("agent_search.link", "POST"): (TICKET, MOVE_TICKET),
    ("agent_search.unlink", "POST"): (TICKET, MOVE_TICKET),
    ("agent_search.merge", "POST"): (TICKET, MOVE_TICKET),
    # reopen: the service head and the cabinet.
    ("agent_dispatch.reopen", "POST"): (TICKET, {
        "anonyme": LOGIN, "chef_voirie": (OK, 404, 404),
        "courrier agent_voirie agent_eclairage trifouillis": (403, 404, 404),
        "cabinet": (OK, OK, 404), "dgs elu": (403, 403, 404), "admin": 404}),
    # --- search and citizens ----------------------------------------------------------
    # Results are limited to the tickets the reader may view (none for the administrator).
    ("agent_search.search", "GET"): (COMMUNE, OWN_PAGE),
    # A citizen's page: through a ticket of theirs the reader may view.
    ("agent_search.citizen", "GET"): (TICKET, VIEW_TICKET),
    # Exporting a citizen's data (RGPD right of access): seen as the citizen's page, then
    # "export" on every service of their tickets (service heads, cabinet, DGS).
    ("agent_search.citizen_export", "POST"): (TICKET, {
        "anonyme": LOGIN, "chef_voirie": (OK, 404, 404),
        "courrier agent_voirie agent_eclairage trifouillis": (403, 404, 404),
        "cabinet dgs": (OK, OK, 404), "elu": (403, 403, 404), "admin": 404}),
    # --- registering letters, calls, visits; the triage queue --------------------------
    ("agent_dispatch.triage", "GET"): (COMMUNE, TRIAGE),
    ("agent_register.index", "GET"): (COMMUNE, REGISTER),
    ("agent_register.register", "GET"): (COMMUNE, REGISTER),
    ("agent_register.register", "POST"): (COMMUNE, {
        **REGISTER, "courrier cabinet trifouillis": (OK, 404)}),
    # Only unknown register numbers are tried (no registered letter is built here).
    ("agent_register.registered", "GET"): (COMMUNE, {"anonyme": LOGIN, SIGNED_IN: 404}),
    ("agent_register.stored_slip", "GET"): (COMMUNE, {"anonyme": LOGIN, SIGNED_IN: 404}),
    # --- administration: agents (manage_users), audit log (view_audit) ------------------
    ("admin.agents", "GET"): (COMMUNE, MANAGE_USERS),
    ("admin.agent", "GET"): (COMMUNE, MANAGE_USERS),
    ("admin.new_agent", "GET"): (COMMUNE, MANAGE_USERS),
    ("admin.new_agent", "POST"): (COMMUNE, MANAGE_USERS_POST),
    ("admin.update_identity", "POST"): (COMMUNE, MANAGE_USERS_POST),
    ("admin.grant_role", "POST"): (COMMUNE, MANAGE_USERS_POST),
    ("admin.revoke_role", "POST"): (COMMUNE, MANAGE_USERS_POST),
    ("admin.invite", "POST"): (COMMUNE, MANAGE_USERS_POST),
    ("admin.deactivate", "POST"): (COMMUNE, MANAGE_USERS_POST),
    ("admin.reactivate", "POST"): (COMMUNE, MANAGE_USERS_POST),
    ("admin.remove_second_factor", "POST"): (COMMUNE, MANAGE_USERS_POST),
    ("admin.journal", "GET"): (COMMUNE, VIEW_AUDIT),
    ("admin.journal_export", "POST"): (COMMUNE, {**VIEW_AUDIT, "cabinet dgs admin": (OK, 404)}),
    # --- cabinet pilot (view_dashboard; exports also need export) ----------------------
    ("pilot.dashboard", "GET"): (COMMUNE, PILOT_PAGE),
    ("pilot.indicators", "GET"): (COMMUNE, PILOT_PAGE),
    ("pilot.map_page", "GET"): (COMMUNE, PILOT_PAGE),
    ("pilot.map_markers", "GET"): (COMMUNE, PILOT_PAGE),
    ("pilot.dashboard_export", "GET"): (COMMUNE, PILOT_PAGE),
    ("pilot.indicators_export", "GET"): (COMMUNE, PILOT_PAGE),
    ("pilot.map_export", "GET"): (COMMUNE, PILOT_PAGE),
    # --- parapheur and reply letters (ticketing/web/agent_replies.py) -----------------
    # Every agent has a parapheur page (validators' drafts, or one's own drafts sent back).
    # The draft routes get an unknown draft (draft_id 0): 404 for every signed-in agent;
    # tests/functional/test_validation_circuit.py checks who may act on real drafts.
    ("agent_replies.validation_queue", "GET"): (COMMUNE, {
        "anonyme": LOGIN, SIGNED_IN: (200, 404)}),
    ("agent_replies.validation_draft", "GET"): (COMMUNE, {"anonyme": LOGIN, SIGNED_IN: 404}),
    ("agent_replies.approve", "POST"): (COMMUNE, {"anonyme": LOGIN, SIGNED_IN: 404}),
    ("agent_replies.send_back", "POST"): (COMMUNE, {"anonyme": LOGIN, SIGNED_IN: 404}),
    ("agent_replies.resubmit", "POST"): (COMMUNE, {"anonyme": LOGIN, SIGNED_IN: 404}),
    # The letter of a reply needs "reply"; entry_id 0 is no reply of the ticket (404).
    ("agent_replies.letter", "POST"): (TICKET, {
        "anonyme": LOGIN, SERVICE_AGENTS: 404, "cabinet": 404, "dgs elu": (403, 403, 404),
        "admin": 404}),
    # --- quarantined mail (view_audit) ------------------------------------------------
    ("mail_admin.quarantine", "GET"): (COMMUNE, VIEW_AUDIT),
    ("mail_admin.raw_message", "GET"): (COMMUNE, VIEW_AUDIT),
}
