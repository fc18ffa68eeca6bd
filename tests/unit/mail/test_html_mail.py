"""HTML mail: sanitised for display, turned into readable text."""

from __future__ import annotations

from mail_ingest.html import html_to_text, sanitise_html


def test_remote_images_are_removed_and_flagged() -> None:
    html, blocked = sanitise_html('<p>a<img src="https://x.example/p.gif"><img src="//x/y"></p>')
    assert blocked and "x.example" not in html and "//x/y" not in html


def test_cid_images_and_links_survive() -> None:
    html, blocked = sanitise_html('<img src="cid:logo@x" alt="logo"><a href="https://a.fr">a</a>')
    assert not blocked
    assert 'src="cid:logo@x"' in html and 'href="https://a.fr"' in html
    assert 'rel="noopener noreferrer"' in html


def test_scripts_styles_handlers_and_javascript_urls_go() -> None:
    html, _ = sanitise_html(
        "<head><title>T</title><style>p{}</style></head><body onload=x()><script>evil()"
        "</script><p onclick='y()' style='background:url(http://t)'>texte</p>"
        "<a href='javascript:z()'>l</a><iframe src='http://i'></iframe>"
        "<form action='http://f'><input name=p></form><svg onload=a()></svg></body>")
    for forbidden in ("script", "evil", "onload", "onclick", "style", "javascript", "iframe",
                      "<form", "<input", "<svg", "http://", ">T<"):
        assert forbidden not in html
    assert "<p>texte</p>" in html


def test_data_images_are_dropped_without_claiming_remote_content() -> None:
    html, blocked = sanitise_html('<img src="data:image/png;base64,AAAA">')
    assert "data:" not in html and not blocked


def test_html_to_text_keeps_paragraphs_lists_and_entities() -> None:
    text = html_to_text(
        "<html><head><style>p{color:red}</style><title>Titre</title></head><body>"
        "<h1>Objet</h1><p>Bonjour&nbsp;madame,</p><p>ligne 1<br>ligne 2</p>"
        "<ul><li>un</li><li>deux</li></ul><table><tr><td>a</td><td>b</td></tr></table>"
        "<p>&eacute;t&eacute; &amp; &lt;hiver&gt;</p><script>x()</script></body></html>")
    assert text == ("Objet\n\nBonjour madame,\n\nligne 1\nligne 2\n\n- un\n- deux\n\na b\n\n"
                    "été & <hiver>")


def test_html_to_text_on_broken_html() -> None:
    assert html_to_text("<p>non fermé <b>gras <i>italique") == "non fermé gras italique"
    assert html_to_text("") == ""
