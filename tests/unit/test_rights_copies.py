"""A service that receives a ticket for information may view it and add notes, nothing more."""

from __future__ import annotations

from ticketing.config.schema import Role
from ticketing.domain.rights import Grant, permissions_on

ROLES = {
    "agent": Role(code="agent", label="Agent",
                  permissions=["view", "reply", "note", "change_status", "close", "assign"]),
    "chef": Role(code="chef", label="Chef", permissions=[
        "view", "reply", "note", "change_status", "close", "reopen", "assign", "transfer",
        "copy", "forward"]),
    "lecteur": Role(code="lecteur", label="Lecteur", permissions=["view"]),
    "cabinet": Role(code="cabinet", label="Cabinet", scope="commune",
                    permissions=["view", "reply", "transfer"]),
}


def test_a_copied_service_may_view_and_note_only():
    grants = [Grant("eclairage", "chef")]
    assert permissions_on(grants, ROLES, "voirie", copied_to={"eclairage"}) == {"view", "note"}


def test_without_the_copy_the_service_has_no_right_at_all():
    assert permissions_on([Grant("eclairage", "chef")], ROLES, "voirie") == set()
    assert permissions_on([Grant("eclairage", "chef")], ROLES, "voirie",
                          copied_to={"proprete"}) == set()


def test_a_copy_grants_no_more_than_the_role_holds():
    assert permissions_on([Grant("eclairage", "lecteur")], ROLES, "voirie",
                          copied_to={"eclairage"}) == {"view"}


def test_the_owning_service_keeps_all_its_rights_when_also_copied():
    grants = [Grant("voirie", "agent")]
    assert permissions_on(grants, ROLES, "voirie", copied_to={"voirie"}) == set(
        ROLES["agent"].permissions)


def test_a_commune_wide_role_is_unchanged_by_copies():
    grants = [Grant("cabinet", "cabinet")]
    assert permissions_on(grants, ROLES, "voirie", copied_to={"cabinet"}) == {
        "view", "reply", "transfer"}


def test_an_agent_in_two_services_cumulates_owner_and_copy_rights():
    grants = [Grant("voirie", "lecteur"), Grant("eclairage", "agent")]
    assert permissions_on(grants, ROLES, "voirie", copied_to={"eclairage"}) == {"view", "note"}
