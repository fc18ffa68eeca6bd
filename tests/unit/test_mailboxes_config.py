"""mailboxes.yaml: optional, validated like the other files, with file:line problems."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ticketing.config.loader import ConfigInvalid, load_commune

REPO = Path(__file__).resolve().parents[2]
COMMUNES = REPO / "config" / "communes"
DEMO = "champignac-en-cambrousse"
SMALL = "trifouillis-les-oies"


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    folder = tmp_path / DEMO
    shutil.copytree(COMMUNES / DEMO, folder)
    return folder


def _problems(folder: Path) -> list[str]:
    with pytest.raises(ConfigInvalid) as caught:
        load_commune(folder)
    return [str(p) for p in caught.value.problems]


def test_the_demo_declares_two_mailboxes_on_a_loopback_test_server() -> None:
    config = load_commune(COMMUNES / DEMO)

    assert [m.name for m in config.mailboxes] == ["mairie", "urbanisme"]
    mairie, urbanisme = config.mailboxes
    assert (mairie.host, mairie.port, mairie.tls) == ("127.0.0.1", 1143, "none")
    assert mairie.password_env == "AIGUILLAGE_DEMO_IMAP_PASSWORD"
    assert urbanisme.service_hint == "urbanisme" and mairie.service_hint is None
    assert (mairie.folder, mairie.processed_folder, mairie.quarantine_folder) == (
        "INBOX", "Traités", "Quarantaine")
    assert (mairie.max_message_mb, mairie.ack_cap_per_hour) == (25, 5)


def test_an_absent_mailboxes_file_means_no_mailbox() -> None:
    assert not (COMMUNES / SMALL / "mailboxes.yaml").exists()
    assert load_commune(COMMUNES / SMALL).mailboxes == []


def test_tls_is_verified_by_default(demo_copy: Path) -> None:
    (demo_copy / "mailboxes.yaml").write_text(
        "mailboxes:\n  - name: mairie\n    host: imap.example.org\n    username: u\n"
        "    password_env: IMAP_PASSWORD\n", encoding="utf-8")
    [mailbox] = load_commune(demo_copy).mailboxes
    assert (mailbox.tls, mailbox.verify_certificate, mailbox.port) == ("tls", True, 993)


def test_a_password_written_in_the_file_is_refused_with_its_line(demo_copy: Path) -> None:
    (demo_copy / "mailboxes.yaml").write_text(
        "mailboxes:\n  - name: mairie\n    host: imap.example.org\n    username: u\n"
        "    password_env: mon-mot-de-passe\n", encoding="utf-8")
    [problem] = _problems(demo_copy)
    assert problem.startswith(f"{demo_copy / 'mailboxes.yaml'}:5:")
    assert "never the password" in problem


def test_an_unknown_tls_mode_and_key_are_refused(demo_copy: Path) -> None:
    (demo_copy / "mailboxes.yaml").write_text(
        "mailboxes:\n  - name: mairie\n    host: h\n    username: u\n"
        "    password_env: P\n    tls: maybe\n    pasword: x\n", encoding="utf-8")
    problems = _problems(demo_copy)
    assert any(":6:" in p and "tls" in p for p in problems)
    assert any(":7:" in p and "unknown key" in p for p in problems)


def test_an_unknown_service_hint_is_refused(demo_copy: Path) -> None:
    (demo_copy / "mailboxes.yaml").write_text(
        "mailboxes:\n  - name: mairie\n    host: h\n    username: u\n"
        "    password_env: P\n    service_hint: urbanism\n", encoding="utf-8")
    [problem] = _problems(demo_copy)
    assert ":6:" in problem and "unknown service 'urbanism'" in problem


def test_two_mailboxes_with_one_name_are_refused(demo_copy: Path) -> None:
    entry = "  - name: mairie\n    host: h\n    username: u\n    password_env: P\n"
    (demo_copy / "mailboxes.yaml").write_text("mailboxes:\n" + entry + entry, encoding="utf-8")
    [problem] = _problems(demo_copy)
    assert ":6:" in problem and "used twice" in problem


def test_invalid_yaml_in_mailboxes_is_reported(demo_copy: Path) -> None:
    (demo_copy / "mailboxes.yaml").write_text("mailboxes:\n  - name: [\n", encoding="utf-8")
    [problem] = _problems(demo_copy)
    assert "mailboxes.yaml" in problem and "not valid YAML" in problem
