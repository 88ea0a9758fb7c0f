from __future__ import annotations

import pytest

from richsms.errors import InvalidInput
from shortener.targets import build_target


def test_link_utm_parameters_win_over_the_target_ones() -> None:
    url = build_target(
        "https://shop.example/sale?utm_source=old&ref=7#top", {"source": "sms", "campaign": "noel"}
    )
    assert url == "https://shop.example/sale?ref=7&utm_source=sms&utm_campaign=noel#top"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://files.example/x",
        "/relative/path",
        "https://user:pw@evil.example/",
        "https://ex.example/\r\nSet-Cookie: x",
        "data:text/html,hi",
        "https://",
    ],
)
def test_only_absolute_http_targets_are_accepted(url: str) -> None:
    with pytest.raises(InvalidInput):
        build_target(url)


def test_unknown_utm_key_is_refused() -> None:
    with pytest.raises(InvalidInput, match="UTM parameter.*sauce"):
        build_target("https://ex.example/", {"sauce": "x"})


def test_international_addresses_become_ascii_locations() -> None:
    assert build_target("https://café.example/ça?q=é") == (
        "https://xn--caf-dma.example/%C3%A7a?q=%C3%A9"
    )
