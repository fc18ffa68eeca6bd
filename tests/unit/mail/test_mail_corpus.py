"""Every mail of tests/mail_corpus parses, and what each one is there for comes out right."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mail_ingest.message import AutomaticKind, ParsedMail
from mail_ingest.parse import parse_mail

CORPUS = Path(__file__).resolve().parents[2] / "mail_corpus"
FILES = sorted(CORPUS.glob("*.eml"))
OWN = frozenset({"mairie@champignac.example", "urbanisme@champignac.example"})
SIGNED_42 = "aig.1.42.0a1b2c3d.46e0b3084cdfc906db61@champignac.example"
SIGNED_57 = "aig.1.57.9f8e7d6c.0b2013178194a01259a5@champignac.example"


def parsed(name: str) -> ParsedMail:
    return parse_mail((CORPUS / name).read_bytes(), OWN)


def test_the_corpus_is_there() -> None:
    assert len(FILES) >= 20


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_every_corpus_mail_parses(path: Path) -> None:
    raw = path.read_bytes()
    mail = parse_mail(raw, OWN)
    assert mail.raw_sha256 == hashlib.sha256(raw).hexdigest()
    assert mail.size == len(raw)
    assert mail.from_address and "@" in mail.from_address
    assert mail.from_address == mail.from_address.lower()
    assert mail.subject and all(ch.isprintable() for ch in mail.subject)
    assert mail.text.strip()
    assert mail.date is None or mail.date.tzinfo is not None
    if mail.html is not None:
        lowered = mail.html.lower()
        assert "<script" not in lowered and "onload" not in lowered and "onerror" not in lowered
        assert 'src="http' not in lowered and "javascript:" not in lowered
    for attachment in mail.attachments:
        assert "/" not in attachment.filename and "\\" not in attachment.filename
        assert attachment.filename.strip()


def test_plain_utf8() -> None:
    mail = parsed("01-texte-utf8.eml")
    assert mail.subject == "Lampadaire en panne rue des Écoles"
    assert mail.from_address == "martine.dupuis@exemple.fr"
    assert mail.from_name == "Martine Dupuis"
    assert mail.message_id == "20260112081502.4242@mail.exemple.fr"
    assert "ne s'allume plus depuis lundi." in mail.text
    assert "\r" not in mail.text
    assert mail.to == ("mairie@champignac.example",)
    assert (mail.automatic, mail.html, mail.attachments, mail.defects) == (None, None, (), ())


def test_latin1_label_is_read_as_windows_1252() -> None:
    mail = parsed("02-latin1-quoted-printable.eml")
    assert mail.subject == "Facture cantine € et œuvre"
    assert mail.from_name == "Jean-Pierre Lemaître"
    assert "s'élève à 48,50 €" in mail.text
    assert "l'œuvre d'art prévue place de la Mairie." in mail.text


def test_undeclared_8bit_windows_1252() -> None:
    mail = parsed("03-8bit-non-declare.eml")
    assert "l'inscription à l'école élémentaire ?" in mail.text
    assert "2 € par soir" in mail.text
    assert mail.subject == "Inscription à l'école élémentaire"
    assert mail.from_name == "Françoise Petit"
    assert any("windows-1252" in defect for defect in mail.defects)


def test_undeclared_8bit_utf8_and_an_unreadable_date() -> None:
    mail = parsed("04-8bit-utf8-non-declare.eml")
    assert "J'ai déposé un permis de construire" in mail.text
    assert mail.from_name == "Loïc Bréhat"
    assert mail.date is None
    assert "date illisible" in mail.defects


def test_invalid_utf8_gets_replacement_characters() -> None:
    mail = parsed("05-utf8-invalide.eml")
    assert "s'est formé avenue du Parc" in mail.text
    assert "\ufffd" in mail.text
    assert any("UTF-8 invalide" in defect for defect in mail.defects)


def test_rfc2047_words_split_inside_a_character() -> None:
    mail = parsed("06-sujet-rfc2047.eml")
    assert mail.subject == "Déchets verts non ramassés — rue des Étangs"
    assert mail.from_name == "Zoé Lefèvre"
    assert mail.cc == ("andre.lefevre@exemple.fr",)
    assert "ramassés cette semaine rue des Étangs." in mail.text


def test_rfc2231_and_rfc2047_filenames_and_a_path_in_a_name() -> None:
    mail = parsed("07-nom-fichier-rfc2231.eml")
    names = [attachment.filename for attachment in mail.attachments]
    assert names == ["déclaration travaux.pdf", "plan de masse été.pdf", "passwd"]
    assert mail.attachments[0].data.startswith(b"%PDF-")
    assert mail.attachments[0].content_type == "application/pdf"
    assert not mail.attachments[0].inline


def test_html_only_is_sanitised_with_a_text_version() -> None:
    mail = parsed("08-html-seul.eml")
    assert mail.html is not None
    assert mail.remote_content_blocked
    for forbidden in ("<script", "alert", "onload", "onerror", "voler", "pisteur.example",
                      "images.example", "javascript", "<style", "color: red", "<title"):
        assert forbidden not in mail.html
    assert 'src="cid:photo-depot@exemple.fr"' in mail.html
    assert '<a href="https://www.exemple.fr/carte"' in mail.html
    assert "Un dépôt sauvage de gravats s'est formé derrière le gymnase municipal." in mail.text
    assert "- gravats\n- pneus" in mail.text
    assert "Merci d'avance,\nSophie Garnier" in mail.text
    assert "alert" not in mail.text and "<" not in mail.text
    (image,) = mail.attachments
    assert (image.content_id, image.inline, image.content_type) == (
        "photo-depot@exemple.fr", True, "image/png")
    assert image.data.startswith(b"\x89PNG")


def test_alternative_keeps_the_text_part_and_the_html() -> None:
    mail = parsed("09-alternative.eml")
    assert mail.text == "Bonjour, la déchetterie est-elle ouverte le dimanche matin ?"
    assert mail.html and "<i>déchetterie</i>" in mail.html
    assert not mail.remote_content_blocked


def test_pdf_and_png_attachments() -> None:
    mail = parsed("10-pieces-jointes.eml")
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("arbre.png", "image/png"), ("constat.pdf", "application/pdf")]
    assert mail.attachments[0].data.startswith(b"\x89PNG\r\n\x1a\n")
    assert mail.attachments[1].data.rstrip().endswith(b"%%EOF")


def test_reply_threading_headers() -> None:
    mail = parsed("11-reponse.eml")
    assert mail.in_reply_to == (SIGNED_42,)
    assert mail.references == ("20260112081502.4242@mail.exemple.fr", SIGNED_42)
    assert mail.automatic is None
    assert "[ABCD-EFGH]" in mail.subject


def test_out_of_office_is_an_auto_reply_even_with_an_empty_return_path() -> None:
    mail = parsed("12-absence.eml")
    assert mail.automatic is AutomaticKind.AUTO_REPLY
    assert mail.subject == "Réponse automatique : absent"  # no-break space folded


def test_list_mail() -> None:
    assert parsed("13-liste.eml").automatic is AutomaticKind.MAILING_LIST


def test_delivery_status_bounce_names_our_message() -> None:
    mail = parsed("14-rebond.eml")
    assert mail.automatic is AutomaticKind.BOUNCE
    assert mail.bounced_message_ids[0] == SIGNED_42
    assert "bounce-0001@mx.champignac.example" not in mail.bounced_message_ids
    assert "could not be delivered" in mail.text
    assert {a.content_type for a in mail.attachments} == {
        "message/delivery-status", "message/rfc822"}


def test_missing_boundary_is_guessed() -> None:
    mail = parsed("15-frontiere-manquante.eml")
    assert mail.text.startswith("Bonjour, la musique de la salle des fêtes empêche")
    assert [a.filename for a in mail.attachments] == ["horaires.txt"]
    assert any("devinée" in defect for defect in mail.defects)


def test_boundary_never_found_reads_as_text() -> None:
    mail = parsed("16-frontiere-fausse.eml")
    assert "pas de réponse concernant le bruit de la salle des fêtes." in mail.text
    assert any("lu comme texte" in defect for defect in mail.defects)


def test_bad_base64_is_kept_with_defects() -> None:
    mail = parsed("17-base64-invalide.eml")
    assert "je souhaite un acte de naissance" in mail.text
    assert [a.filename for a in mail.attachments] == ["livret.pdf"]
    assert any("Base64" in defect for defect in mail.defects)


def test_display_name_that_is_another_address_is_dropped() -> None:
    mail = parsed("18-nom-affiche-trompeur.eml")
    assert mail.from_address == "escroc@evil.example"
    assert mail.from_name == ""
    assert any("trompeur" in defect and "mairie@champignac.example" in defect
               for defect in mail.defects)
    assert mail.reply_to == "remboursement@evil.example"
    assert mail.message_id == "Deceptive-0001@evil.example"
    assert mail.automatic is None  # the From is not ours, whatever its display name says


def test_huge_headers_are_capped() -> None:
    mail = parsed("19-en-tete-enorme.eml")
    assert len(mail.subject) == 1000
    assert len(mail.references) == 50
    assert mail.references[-1] == "ancien-02999@exemple.fr"
    assert "objet tronqué" in mail.defects
    assert mail.text == "Demande de rendez-vous avec monsieur le maire."


def test_winmail_dat_is_unpacked() -> None:
    mail = parsed("20-winmail.eml")
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("plan-cadastre.pdf", "application/pdf")]
    assert mail.attachments[0].data.startswith(b"%PDF-")
    assert mail.text.startswith("Bonjour, voici le plan du cadastre demandé.")


def test_bulk_html_newsletter() -> None:
    mail = parsed("21-infolettre.eml")
    assert mail.automatic is AutomaticKind.BULK
    assert mail.remote_content_blocked
    assert mail.text == "Profitez de nos offres !"


def test_empty_return_path_alone_is_a_bounce_and_quoted_ids_are_found() -> None:
    mail = parsed("22-return-path-vide.eml")
    assert mail.automatic is AutomaticKind.BOUNCE
    assert mail.bounced_message_ids == (SIGNED_57,)


def test_forwarded_message_is_kept_as_an_attachment() -> None:
    mail = parsed("23-transfert.eml")
    (forwarded,) = mail.attachments
    assert forwarded.content_type == "message/rfc822"
    assert forwarded.filename.endswith(".eml")
    assert b"Une camionnette bloque le trottoir" in forwarded.data
    assert "Une camionnette" not in mail.text


def test_8bit_headers_without_mime() -> None:
    mail = parsed("24-latin1-8bit-sans-mime.eml")
    assert mail.subject == "Salle polyvalente à réserver"
    assert mail.from_name == "Cédric Æthelred"
    assert "(caution 150 €)" in mail.text
