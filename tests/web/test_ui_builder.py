"""The page builder through a browser's eyes (HTTP, as htmx and plain forms send it):
pages list, blocks added, edited (errors next to the field), reordered by drag and by
keyboard, deleted, published into versions, and the preview as a contact of an audience."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from starlette.testclient import TestClient

from landing_templates.coupons.models import Coupon
from landing_templates.models import Page, PageVersion
from landing_templates.pages import get_page
from richsms.db import session_scope
from sender.audience.models import Contact
from tests.clock import FrozenClock
from tests.web.test_ui import audience, csrf, marketer  # noqa: F401  (the fixture)
from web.ui.builder.forms import default_settings

HTMX = {"HX-Request": "true"}


def new_page(client: TestClient, name: str = "Soldes d'hiver", language: str = "fr") -> int:
    token = csrf(client.get("/ui/pages").text)
    created = client.post(
        "/ui/pages", data={"csrf": token, "name": name, "language": language},
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    found = re.fullmatch(r"/ui/pages/(\d+)", created.headers["location"])
    assert found is not None
    return int(found.group(1))


def blocks(engine: Engine, page_id: int) -> list[dict[str, Any]]:
    with Session(engine) as session:
        return list(get_page(session=session, page_id=page_id).draft.blocks)


def token_of(client: TestClient, page_id: int) -> str:
    return csrf(client.get(f"/ui/pages/{page_id}").text)


def add(client: TestClient, page_id: int, kind: str, token: str) -> str:
    """Adds a block of `kind` as htmx does; its id."""
    response = client.post(
        f"/ui/pages/{page_id}/blocks", data={"csrf": token, "type": kind}, headers=HTMX
    )
    assert response.status_code == 200, response.text
    assert response.headers["hx-trigger"] == "page-changed"
    ids = re.findall(r'data-block="([^"]+)"', response.text)
    return ids[-1]


def test_pages_list_and_a_new_page(marketer: TestClient, engine: Engine) -> None:  # noqa: F811
    empty = marketer.get("/ui/pages")
    assert empty.status_code == 200 and 'href="/ui/pages"' in empty.text
    assert "unsafe-inline" not in empty.headers["content-security-policy"]
    page_id = new_page(marketer, "Black <Friday>")
    listing = marketer.get("/ui/pages").text
    assert f'href="/ui/pages/{page_id}"' in listing
    assert "Black &lt;Friday&gt;" in listing and "Black <Friday>" not in listing
    builder = marketer.get(f"/ui/pages/{page_id}")
    assert builder.status_code == 200
    assert "script-src 'self'; style-src 'self'" in builder.headers["content-security-policy"]
    assert "<script>" not in builder.text and "style=" not in builder.text
    assert '/static/ui/builder.js' in builder.text and 'id="preview-frame"' in builder.text
    # A nameless page is refused with the reason, and nothing is created.
    token = csrf(listing)
    refused = marketer.post("/ui/pages", data={"csrf": token, "name": " ", "language": "fr"})
    assert refused.status_code == 422 and "name" in refused.text
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Page)) == 1


def test_every_block_type_can_be_added_with_its_form(
    marketer: TestClient, engine: Engine  # noqa: F811
) -> None:
    page_id = new_page(marketer)
    token = token_of(marketer, page_id)
    for kind in ("heading", "text", "button", "footer", "countdown", "coupon", "scratch", "wheel"):
        add(marketer, page_id, kind, token)
    stored = blocks(engine, page_id)
    assert [b["type"] for b in stored] == [
        "heading", "text", "button", "footer", "countdown", "coupon", "scratch", "wheel",
    ]
    html = marketer.get(f"/ui/pages/{page_id}").text
    assert 'name="prizes.2.label"' in html  # a wheel shows one empty row to add a prize
    assert 'name="coupon.pattern"' in html and 'name="expired_text"' in html
    assert 'data-merge="{{ contact.first_name }}"' in html
    # An image needs an uploaded image first: said plainly, nothing added.
    image = marketer.post(
        f"/ui/pages/{page_id}/blocks", data={"csrf": token, "type": "image"}, headers=HTMX
    )
    assert image.status_code == 422 and "upload" in image.text and "<html" not in image.text
    assert len(blocks(engine, page_id)) == 8


def test_edit_a_block_and_see_the_schema_errors_next_to_the_field(
    marketer: TestClient, engine: Engine  # noqa: F811
) -> None:
    page_id = new_page(marketer)
    token = token_of(marketer, page_id)
    heading = add(marketer, page_id, "heading", token)
    button = add(marketer, page_id, "button", token)
    saved = marketer.post(
        f"/ui/pages/{page_id}/blocks/{heading}",
        data={"csrf": token, "text": "Bonjour {{ contact.first_name }}", "level": "2"},
        headers=HTMX,
    )
    assert saved.status_code == 200 and "Block saved." in saved.text
    assert blocks(engine, page_id)[0] | {"id": ""} == {
        "id": "", "type": "heading", "text": "Bonjour {{ contact.first_name }}", "level": 2,
    }
    bad = marketer.post(
        f"/ui/pages/{page_id}/blocks/{button}",
        data={"csrf": token, "label": "", "href": "http://plain.example"},
        headers=HTMX,
    )
    assert bad.status_code == 422
    label = re.search(r'id="f-' + button + r'-label-error">([^<]+)<', bad.text)
    href = re.search(r'id="f-' + button + r'-href-error">([^<]+)<', bad.text)
    assert label is not None and label.group(1) == "Required."
    assert href is not None and "https://" in href.group(1)
    assert 'value="http://plain.example"' in bad.text  # what was typed is kept
    assert "hx-trigger" not in bad.headers
    assert blocks(engine, page_id)[1]["label"] in ("J'en profite", "Shop now")
    # An unknown merge field is refused by the page's own check, shown on the block.
    unknown = marketer.post(
        f"/ui/pages/{page_id}/blocks/{heading}",
        data={"csrf": token, "text": "Hi {{ contact.shoe_size }}", "level": "1"},
        headers=HTMX,
    )
    assert unknown.status_code == 422 and "shoe_size" in unknown.text
    assert blocks(engine, page_id)[0]["text"] == "Bonjour {{ contact.first_name }}"
    # A wheel's prizes and a countdown's local deadline.
    wheel = add(marketer, page_id, "wheel", token)
    marketer.post(
        f"/ui/pages/{page_id}/blocks/{wheel}",
        data={
            "csrf": token, "prizes.0.label": "-20 %", "prizes.0.weight": "1",
            "prizes.1.label": "Perdu", "prizes.1.weight": "4", "prizes.2.label": "Café",
            "prizes.2.weight": "2", "coupon.source": "generate", "coupon.pattern": "",
        },
        headers=HTMX,
    )
    assert [p["label"] for p in blocks(engine, page_id)[2]["prizes"]] == ["-20 %", "Perdu", "Café"]
    heavy = marketer.post(
        f"/ui/pages/{page_id}/blocks/{wheel}",
        data={"csrf": token, "prizes.0.label": "-20 %", "prizes.0.weight": "lourd",
              "prizes.1.label": "Perdu", "prizes.1.weight": "4", "prizes.1.coupon": "on",
              "coupon.source": "generate", "coupon.pattern": "NOEL-######"},
        headers=HTMX,
    )
    assert heavy.status_code == 422
    assert re.search(f'id="f-{wheel}-prizes-0-weight-error">[^<]*number', heavy.text)
    assert len(blocks(engine, page_id)[2]["prizes"]) == 3
    countdown = add(marketer, page_id, "countdown", token)
    marketer.post(
        f"/ui/pages/{page_id}/blocks/{countdown}",
        data={"csrf": token, "label": "Fin", "deadline": "2026-12-24T18:00",
              "zone": "Europe/Paris", "expired_text": "Fini"},
        headers=HTMX,
    )
    assert blocks(engine, page_id)[3]["deadline"] == "2026-12-24T18:00:00+01:00"


def test_a_french_marketer_reads_the_field_errors_in_french(
    marketer: TestClient, engine: Engine  # noqa: F811
) -> None:
    marketer.headers["Accept-Language"] = "fr"
    page_id = new_page(marketer)
    token = token_of(marketer, page_id)
    heading, button, wheel = (add(marketer, page_id, k, token) for k in ("heading", "button",
                                                                          "wheel"))

    def errors(block: str, data: dict[str, str]) -> dict[str, str]:
        refused = marketer.post(
            f"/ui/pages/{page_id}/blocks/{block}", data={"csrf": token, **data}, headers=HTMX
        )
        assert refused.status_code == 422
        found = re.findall(f'id="f-{block}-([a-z0-9-]+)-error">([^<]+)<', refused.text)
        return {field: html.unescape(message) for field, message in found}

    assert errors(heading, {"text": "x" * 301, "level": "1"}) == {
        "text": "300 caractères au plus."
    }
    assert errors(button, {"label": "", "href": "http://plain.example"}) == {
        "label": "Obligatoire.",
        "href": "une adresse https://, un numéro tel: ou un numéro sms:",
    }
    prizes = {"prizes.0.label": "-20 %", "prizes.1.label": "Perdu", "prizes.1.weight": "4"}
    assert errors(wheel, prizes | {"prizes.0.weight": "lourd"}) == {
        "prizes-0-weight": "Un nombre."
    }
    assert errors(wheel, prizes | {"prizes.0.weight": "0"}) == {"prizes-0-weight": "Plus de 0."}
    assert blocks(engine, page_id)[0]["text"] != "x" * 301  # nothing refused was kept


def test_reorder_by_drag_and_by_keyboard_then_delete(
    marketer: TestClient, engine: Engine  # noqa: F811
) -> None:
    page_id = new_page(marketer)
    token = token_of(marketer, page_id)
    a, b, c = (add(marketer, page_id, kind, token) for kind in ("heading", "text", "footer"))
    dragged = marketer.post(
        f"/ui/pages/{page_id}/order", data={"csrf": token, "order": f"{c},{a},{b}"}, headers=HTMX
    )
    assert dragged.status_code == 200
    assert [x["id"] for x in blocks(engine, page_id)] == [c, a, b]
    moved = marketer.post(
        f"/ui/pages/{page_id}/blocks/{b}/move", data={"csrf": token, "direction": "up"},
        headers=HTMX,
    )
    assert [x["id"] for x in blocks(engine, page_id)] == [c, b, a]
    assert re.search(f'id="up-{b}"[^>]*data-focus', moved.text)  # the focus stays on it
    # A plain form (no script) is redirected back to the builder.
    plain = marketer.post(
        f"/ui/pages/{page_id}/blocks/{c}/move", data={"csrf": token, "direction": "down"},
        follow_redirects=False,
    )
    assert plain.status_code == 303
    assert [x["id"] for x in blocks(engine, page_id)] == [b, c, a]
    # An order that loses a block is refused.
    lossy = marketer.post(
        f"/ui/pages/{page_id}/order", data={"csrf": token, "order": f"{a},{b}"}, headers=HTMX
    )
    assert lossy.status_code == 422
    deleted = marketer.post(
        f"/ui/pages/{page_id}/blocks/{c}/delete", data={"csrf": token}, headers=HTMX
    )
    assert deleted.status_code == 200 and f'data-block="{c}"' not in deleted.text
    assert [x["id"] for x in blocks(engine, page_id)] == [b, a]
    missing = marketer.post(
        f"/ui/pages/{page_id}/blocks/{c}/delete", data={"csrf": token}, headers=HTMX
    )
    assert missing.status_code == 404 and 'id="workspace"' in missing.text
    forged = marketer.post(f"/ui/pages/{page_id}/blocks/{a}/delete", headers=HTMX)
    assert forged.status_code == 403 and len(blocks(engine, page_id)) == 2


def test_publish_then_a_change_is_a_new_draft_version(
    marketer: TestClient, engine: Engine  # noqa: F811
) -> None:
    page_id = new_page(marketer)
    token = token_of(marketer, page_id)
    heading = add(marketer, page_id, "heading", token)
    published = marketer.post(f"/ui/pages/{page_id}/publish", data={"csrf": token}, headers=HTMX)
    assert published.status_code == 200 and "Page published." in published.text
    marketer.post(
        f"/ui/pages/{page_id}/blocks/{heading}",
        data={"csrf": token, "text": "Version deux", "level": "1"}, headers=HTMX,
    )
    renamed = marketer.post(
        f"/ui/pages/{page_id}/save", data={"csrf": token, "name": "Soldes", "language": "fr"},
        headers=HTMX,
    )
    assert renamed.status_code == 200
    coloured = marketer.post(
        f"/ui/pages/{page_id}/save",
        data={"csrf": token, "name": "Soldes", "language": "fr", "primary": "#aa2200"},
        headers=HTMX,
    )
    assert coloured.status_code == 200 and 'value="#aa2200"' in coloured.text
    assert "--pri:#aa2200" in marketer.get(f"/ui/pages/{page_id}/preview").text
    refused = marketer.post(
        f"/ui/pages/{page_id}/save",
        data={"csrf": token, "name": "Soldes", "language": "fr", "primary": "red"},
        headers=HTMX,
    )
    # Refused, and said in the workspace (not a whole page swapped into it).
    assert refused.status_code == 422 and 'id="workspace"' in refused.text
    assert "<html" not in refused.text and "colour" in refused.text
    with Session(engine) as session:
        versions = session.exec(
            select(col(PageVersion.version), col(PageVersion.published_at))
            .where(col(PageVersion.page_id) == page_id)
            .order_by(col(PageVersion.version))
        ).all()
        page = session.get(Page, page_id)
        assert page is not None and page.name == "Soldes" and page.published_version == 1
    assert [(v, at is not None) for v, at in versions] == [(1, True), (2, False)]
    assert blocks(engine, page_id)[0]["text"] == "Version deux"
    listing = marketer.get("/ui/pages").text
    assert ">published<" in listing
    builder = marketer.get(f"/ui/pages/{page_id}").text
    assert "v1" in builder and "v2" in builder and ">live<" in builder


def test_preview_as_a_contact_of_an_audience_records_nothing(
    marketer: TestClient, engine: Engine, clock: FrozenClock  # noqa: F811
) -> None:
    group = audience(engine, clock)
    with Session(engine) as session:
        zoe = session.exec(select(Contact).where(col(Contact.first_name) == "Zoé")).one()[0]
        zoe.first_name = "<b>Zoé</b>"
        session.add(zoe)
        session.commit()
        zoe_id = zoe.id
    page_id = new_page(marketer)
    token = token_of(marketer, page_id)
    heading = add(marketer, page_id, "heading", token)
    add(marketer, page_id, "coupon", token)
    marketer.post(
        f"/ui/pages/{page_id}/blocks/{heading}",
        data={"csrf": token, "text": "Bonjour {{ contact.first_name }} !", "level": "1"},
        headers=HTMX,
    )
    options = marketer.get(f"/ui/pages/{page_id}/contacts?audience=group-{group}")
    assert f'value="{zoe_id}"' in options.text and "&lt;b&gt;Zoé&lt;/b&gt;" in options.text
    bob = marketer.get(f"/ui/pages/{page_id}/contacts?audience=group-{group}&q=bob").text
    assert "Bob" in bob and f'value="{zoe_id}"' not in bob
    shown = marketer.get(f"/ui/pages/{page_id}/preview?contact_id={zoe_id}")
    assert shown.status_code == 200
    assert "Bonjour &lt;b&gt;Zoé&lt;/b&gt; !" in shown.text and "<b>Zoé" not in shown.text
    policy = shown.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in policy and "script-src 'nonce-" in policy
    assert policy.endswith("; sandbox allow-scripts")  # sandboxed however it is opened
    assert "unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Coupon)) == 0
    anonymous = marketer.get(f"/ui/pages/{page_id}/preview")
    assert anonymous.status_code == 200 and "Bonjour" in anonymous.text
    assert marketer.get(f"/ui/pages/{page_id}/preview?contact_id=99999").status_code == 404
    assert marketer.get(f"/ui/pages/{page_id}/preview?contact_id=abc").status_code == 422
    builder = marketer.get(f"/ui/pages/{page_id}?audience=group-{group}&contact={zoe_id}").text
    assert f'src="/ui/pages/{page_id}/preview?contact_id={zoe_id}"' in builder
    assert '<iframe id="preview-frame" sandbox="allow-scripts"' in builder


def test_the_builder_speaks_english_too(marketer: TestClient) -> None:  # noqa: F811
    page_id = new_page(marketer, "Winter sale", "en")
    html = marketer.get(f"/ui/pages/{page_id}", headers={"Accept-Language": "en"}).text
    assert "Add a block" in html and ">Scratch card</button>" in html
    assert "Ajouter un bloc" in marketer.get(
        f"/ui/pages/{page_id}", headers={"Accept-Language": "fr"}
    ).text


def png(width: int = 64, height: int = 48) -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (width, height), (200, 30, 60)).save(out, "PNG")
    return out.getvalue()


def test_an_image_from_the_device_becomes_an_image_block(
    marketer: TestClient, engine: Engine  # noqa: F811
) -> None:
    page_id = new_page(marketer)
    token = token_of(marketer, page_id)
    headers = {"HX-Request": "true", "X-CSRF-Token": token, "Content-Type": "image/png"}
    added = marketer.post(f"/ui/pages/{page_id}/images", content=png(), headers=headers)
    assert added.status_code == 200 and added.headers["hx-trigger"] == "page-changed"
    [image] = blocks(engine, page_id)
    assert image["type"] == "image" and image["image_id"] >= 1
    assert 'name="image_id"' in added.text and 'value="image"' in added.text  # now in the menu
    described = marketer.post(
        f"/ui/pages/{page_id}/blocks/{image['id']}",
        data={"csrf": token, "image_id": str(image["image_id"]), "alt": "Un manteau rouge"},
        headers=HTMX,
    )
    assert described.status_code == 200
    assert 'alt="Un manteau rouge"' in marketer.get(f"/ui/pages/{page_id}/preview").text
    refused = marketer.post(f"/ui/pages/{page_id}/images", content=b"not an image",
                            headers=headers)
    assert refused.status_code == 422 and "JPEG, PNG or WebP" in refused.text
    forged = marketer.post(f"/ui/pages/{page_id}/images", content=png(),
                           headers=headers | {"X-CSRF-Token": "forged"})
    assert forged.status_code == 403
    assert len(blocks(engine, page_id)) == 1


def test_publishing_may_move_the_links_already_sent(
    marketer: TestClient, engine: Engine, clock: FrozenClock  # noqa: F811
) -> None:
    from landing_templates.links import issue_page_links
    from shortener.codes import CodeMaker
    from shortener.models import Link
    from tests.conftest import TEST_SECRET

    audience(engine, clock)
    page_id = new_page(marketer)
    token = token_of(marketer, page_id)
    heading = add(marketer, page_id, "heading", token)
    marketer.post(f"/ui/pages/{page_id}/publish", data={"csrf": token}, headers=HTMX)
    with session_scope(engine) as session:
        contacts = list(session.exec(select(col(Contact.id))).scalars())
        issue_page_links(session=session, codes=CodeMaker(TEST_SECRET), clock=clock,
                         base_url="https://r.example/", page_id=page_id,
                         contact_ids=contacts)

    def versions_of_links() -> set[int | None]:
        with Session(engine) as session:
            return set(session.exec(select(col(Link.page_version))).scalars())

    edit = {"csrf": token, "text": "Deux", "level": "1"}
    marketer.post(f"/ui/pages/{page_id}/blocks/{heading}", data=edit, headers=HTMX)
    builder = marketer.post(f"/ui/pages/{page_id}/publish", data={"csrf": token}, headers=HTMX)
    assert 'name="move_links"' in builder.text
    assert versions_of_links() == {1}  # sent links keep the version they were sent with
    marketer.post(f"/ui/pages/{page_id}/blocks/{heading}", data=edit | {"text": "Trois"},
                  headers=HTMX)
    marketer.post(f"/ui/pages/{page_id}/publish", data={"csrf": token, "move_links": "on"},
                  headers=HTMX)
    assert versions_of_links() == {3}
    # Without scripts, a refused edit shows the whole builder with the reason.
    plain = marketer.post(f"/ui/pages/{page_id}/blocks/{heading}",
                          data={"csrf": token, "text": "", "level": "1"})
    assert plain.status_code == 422 and "<html" in plain.text
    assert 'id="preview-frame"' in plain.text and "Required." in plain.text


def test_a_new_block_starts_in_the_pages_language() -> None:
    now = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    french = {kind: default_settings(kind, "fr", now) for kind in ("button", "countdown", "wheel")}
    assert french["button"]["label"] == "J'en profite"
    assert french["countdown"]["label"] == "Plus que"
    # A wheel's losing prize, not the short links' "Try again" page (Réessayez).
    assert [p["label"] for p in french["wheel"]["prizes"]] == ["-10 %", "Perdu"]
    english = default_settings("wheel", "en", now)
    assert [p["label"] for p in english["prizes"]] == ["-10 %", "Try again"]
    assert default_settings("heading", "de", now)["text"] == "New heading"


def test_a_coupon_shown_both_ways_and_wheel_slices_that_each_say_what_they_win(
    marketer: TestClient, engine: Engine  # noqa: F811
) -> None:
    page_id = new_page(marketer)
    token = token_of(marketer, page_id)
    coupon, wheel = add(marketer, page_id, "coupon", token), add(marketer, page_id, "wheel", token)
    form = marketer.get(f"/ui/pages/{page_id}").text
    assert '<option value="both">Barcode and QR code, one code</option>' in form
    assert 'name="prizes.0.coupon.pattern"' in form and 'name="prizes.0.text"' in form
    saved = marketer.post(
        f"/ui/pages/{page_id}/blocks/{coupon}",
        data={"csrf": token, "source": "generate", "pattern": "NOEL-######",
              "symbology": "both"},
        headers=HTMX,
    )
    assert saved.status_code == 200, saved.text
    assert blocks(engine, page_id)[0]["symbology"] == "both"
    saved = marketer.post(
        f"/ui/pages/{page_id}/blocks/{wheel}",
        data={
            "csrf": token,
            "prizes.0.label": "-20 %", "prizes.0.weight": "1",
            "prizes.0.coupon.pattern": "VINGT-######",
            "prizes.1.label": "Café", "prizes.1.weight": "2",
            "prizes.1.coupon.pool_id": "", "prizes.1.coupon": "on",
            "prizes.2.label": "Perdu", "prizes.2.weight": "4",
            "prizes.2.text": "Pas de chance !",
            "coupon.source": "generate", "coupon.pattern": "CAFE-######",
            "coupon.symbology": "ean13+qr",
        },
        headers=HTMX,
    )
    assert saved.status_code == 200, saved.text
    stored = blocks(engine, page_id)[1]
    assert stored["prizes"] == [
        {"label": "-20 %", "weight": 1.0, "text": "",
         "coupon": {"source": "generate", "pattern": "VINGT-######",
                    "symbology": ["ean13", "qr"]}},
        {"label": "Café", "weight": 2.0, "coupon": True, "text": ""},
        {"label": "Perdu", "weight": 4.0, "coupon": False, "text": "Pas de chance !"},
    ]
    assert stored["coupon"]["pattern"] == "CAFE-######"
    form = marketer.get(f"/ui/pages/{page_id}").text  # what was saved is what the form shows
    assert re.search(r'name="prizes.0.coupon.pattern" value="VINGT-######"', form)
    assert re.search(r'<option value="ean13\+qr" selected>', form)
    weak = marketer.post(
        f"/ui/pages/{page_id}/blocks/{wheel}",
        data={"csrf": token, "prizes.0.label": "-20 %", "prizes.0.weight": "1",
              "prizes.0.coupon.pattern": "X-##", "prizes.1.label": "Perdu",
              "prizes.1.weight": "4"},
        headers=HTMX,
    )
    assert weak.status_code == 422
    assert re.search(f'id="f-{wheel}-prizes-0-coupon-error">[^<]*1,000,000', weak.text)
    assert "At least 2 items" not in weak.text  # the slice's own error says it all


def test_a_page_is_translated_in_one_click_and_the_copy_opens_in_the_builder(
    marketer: TestClient, engine: Engine  # noqa: F811
) -> None:
    page_id = new_page(marketer, "Soldes d'hiver", "fr")
    token = token_of(marketer, page_id)
    add(marketer, page_id, "heading", token)
    builder = marketer.get(f"/ui/pages/{page_id}").text
    assert "Translate into English" in builder and "Translate into French" not in builder
    listing = marketer.get("/ui/pages").text
    assert f'action="/ui/pages/{page_id}/translate"' in listing
    translated = marketer.post(
        f"/ui/pages/{page_id}/translate",
        data={"csrf": token, "language": "en"},
        follow_redirects=False,
    )
    assert translated.status_code == 303, translated.text
    found = re.fullmatch(r"/ui/pages/(\d+)\?notice=.*", translated.headers["location"])
    assert found is not None and int(found.group(1)) != page_id
    copy_id = int(found.group(1))
    opened = marketer.get(translated.headers["location"]).text
    assert "A copy to translate" in opened  # the builder says what to do next
    assert html.unescape("Soldes d&#39;hiver (en)") in html.unescape(opened)
    assert "Translate into French" in opened  # the copy is English: back to French is offered
    assert [b["type"] for b in blocks(engine, copy_id)] == ["heading"]
    with Session(engine) as session:
        assert session.get(Page, copy_id).language == "en"  # type: ignore[union-attr]
    # In French, the same words in French; into its own language, refused with the reason.
    marketer.post("/ui/lang", data={"lang": "fr", "next": "/ui/"})
    assert "Traduire en anglais" in marketer.get(f"/ui/pages/{page_id}").text
    same = marketer.post(f"/ui/pages/{page_id}/translate", data={"csrf": token, "language": "fr"})
    assert same.status_code == 422 and "déjà en fr" in same.text
