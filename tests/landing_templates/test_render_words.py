"""The words a page says itself (a countdown's units, a coupon's buttons, notices) come from
the catalogues, in the page's language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from landing_templates.blocks.base import Recipient
from landing_templates.render import compile_page, render_notice, render_page

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
BLOCKS = [
    {"type": "countdown", "deadline": "2026-12-09T09:00:00Z", "expired_text": "Fini"},
    {"type": "coupon", "source": "generate", "pattern": "NOEL-######"},
]


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("fr", ["Temps restant", ">jours<", ">h<", ">min<", ">s<", "Votre code personnel"]),
        ("en", ["Time left", ">days<", ">hrs<", ">min<", ">sec<", "Your personal code"]),
        ("de", ["Time left", ">days<", "Your personal code"]),  # a language we lack
    ],
)
def test_a_page_says_its_own_words_in_its_language(language: str, words: list[str]) -> None:
    page = compile_page(
        page_id=1, version=1, name="Noël", language=language, theme={}, blocks=BLOCKS, images={}
    )
    html = render_page(page, Recipient(contact={}, now=NOW), nonce="n")
    assert f'<html lang="{language}"' in html
    for word in words:
        assert word in html


def test_notices_in_each_language() -> None:
    assert "Offre terminée" in render_notice("expired", "fr")
    assert "Offer ended" in render_notice("expired", "en")
    assert "Page introuvable" in render_notice("not_found", "fr")


def test_a_worker_process_renders_the_page_it_is_given_not_one_it_kept_with_its_ids() -> None:
    """A heavy page is rendered in a worker process that keeps compiled pages by (page,
    version); the process outlives a database (each test's page 1, version 1): a page
    with the same ids and other blocks is rendered from its own blocks."""
    from landing_templates.viewer import Rendered, render_elsewhere

    def html(heading: str) -> str:
        blocks = [{"type": "heading", "text": heading}, *BLOCKS]
        page = compile_page(
            page_id=1, version=1, name="Noël", language="fr", theme={}, blocks=blocks, images={}
        )
        pieces = render_elsewhere(page.source, Recipient(contact={}, now=NOW), "n", 1.0)
        return Rendered(200, pieces, "n", "fr").html

    assert "Grandes soldes" in html("Grandes soldes")
    second = html("Ventes privées")
    assert "Ventes privées" in second and "Grandes soldes" not in second
