"""Bot or person, for real user agents, each labelled: in-app browsers (a person who tapped
the link inside a messaging or social app) are people; the link-preview fetchers of those
same apps, mail and carrier scanners, and crawlers are bots."""

from __future__ import annotations

import random
import string

import pytest
from crawlerdetect import CrawlerDetect

from shortener.bots import is_bot, is_bot_agent

PEOPLE = [
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        id="iphone_safari",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36",
        id="android_chrome",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, "
        "like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
        id="samsung",
    ),
    pytest.param(
        "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
        id="firefox_android",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 12; SM-G991B Build/SP1A.210812.016; wv) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile "
        "Safari/537.36 Viber/21.2.0.0",
        id="viber_android",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 Viber/20.8.0",
        id="viber_ios",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 Snapchat/12.60.0.41 (like "
        "Safari/8616.2.9.11.10, panda)",
        id="snapchat_ios",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230805.001; wv) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.5845.163 Mobile "
        "Safari/537.36 Snapchat/12.50.0.36 (like Chrome/116.0.5845.163)",
        id="snapchat_android",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 Safari Line/13.14.0",
        id="line_ios",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 13; SM-A536E Build/TP1A.220624.014; wv) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.5845.172 Mobile "
        "Safari/537.36 Line/13.14.1/IAB",
        id="line_android",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP1A.240305.019; wv) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/122.0.6261.105 Mobile "
        "Safari/537.36 Signal/7.3.1",
        id="signal_android",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/21A329 "
        "[FBAN/FBIOS;FBAV/436.0.0.29.109;FBBV/540453491;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.0;FBSS/3;FBID/phone;FBLC/fr_FR;FBOP/5;FBRV/541987766]",
        id="facebook_ios",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 13; SM-G998B Build/TP1A.220624.014; wv) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile "
        "Safari/537.36 [FB_IAB/FB4A;FBAV/441.0.0.33.113;]",
        id="facebook_android",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 "
        "[FBAN/MessengerForiOS;FBAV/442.0.0.38.109;FBBV/548911386;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.2;FBSS/3;FBCR/;FBID/phone;FBLC/en_US;FBOP/5]",
        id="messenger_ios",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 Instagram 307.0.1.20.109 (iPhone14,2; iOS "
        "17_1_1; fr_FR; fr; scale=3.00; 1170x2532; 532277890)",
        id="instagram_ios",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 13; SM-A546B Build/TP1A.220624.014; wv) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile "
        "Safari/537.36 Instagram 312.0.0.32.112 Android (33/13; 450dpi; 1080x2340; "
        "samsung; SM-A546B; a54x; s5e8835; fr_FR; 548323757)",
        id="instagram_android",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 13; SM-A525F Build/TP1A.220624.014; wv) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.193 Mobile "
        "Safari/537.36 WhatsApp/2.23.25.83",
        id="whatsapp_inapp_android",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 13; SM-A525F Build/TP1A.220624.014; wv) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.193 Mobile "
        "Safari/537.36 Telegram-Android/10.5.0 (Samsung SM-A525F; Android 13; SDK 33; "
        "AVERAGE)",
        id="telegram_android",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 musical_ly_32.5.0 JsSdk/2.0 NetType/WIFI "
        "Channel/App Store ByteLocale/fr Region/FR ByteFullLocale/fr-FR isDarkMode/0 "
        "WKWebView/1 RevealType/Dialog BytedanceWebview/d8a21c6",
        id="tiktok_ios",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 KAKAOTALK 10.4.3",
        id="kakaotalk",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) GSA/292.0.595257185 Mobile/15E148 Safari/604.1",
        id="google_app",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 Twitter for iPhone/10.17",
        id="twitter_ios",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.29.6919",
        id="linkedin_app",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 [Pinterest/iOS]",
        id="pinterest_app",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
        id="outlook_desktop",
    ),
]

BOTS = [
    pytest.param(
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.12026; Pro)",
        id="outlook_link_check",
    ),
    pytest.param(
        "WhatsApp/2.23.20.0 A",
        id="whatsapp_preview",
    ),
    pytest.param(
        "WhatsApp/2.2337.7 i",
        id="whatsapp_preview_ios",
    ),
    pytest.param(
        "TelegramBot (like TwitterBot)",
        id="telegram_preview",
    ),
    pytest.param(
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        id="slack",
    ),
    pytest.param(
        "Slack-ImgProxy (+https://api.slack.com/robots)",
        id="slack_img",
    ),
    pytest.param(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, "
        "like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot "
        "Twitterbot/1.0",
        id="imessage",
    ),
    pytest.param(
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        id="facebook",
    ),
    pytest.param(
        "Twitterbot/1.0",
        id="twitter",
    ),
    pytest.param(
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        id="discord",
    ),
    pytest.param(
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        id="linkedin",
    ),
    pytest.param(
        "Mozilla/5.0 (compatible; Snap URL Preview Service; bot; snapchat; "
        "https://developers.snap.com/robots)",
        id="snap_preview",
    ),
    pytest.param(
        "facebookexternalhit/1.1;line-poker/1.0",
        id="line_preview",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 "
        "skype-url-preview@microsoft.com",
        id="skype",
    ),
    pytest.param(
        "Viber/20.8.0",
        id="viber_preview",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; "
        "Googlebot/2.1; +http://www.google.com/bot.html)",
        id="googlebot",
    ),
    pytest.param(
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
        "+http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
        id="bingbot",
    ),
    pytest.param(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/120.0.0.0 Safari/537.36",
        id="headless",
    ),
    pytest.param(
        "curl/8.4.0",
        id="curl",
    ),
    pytest.param(
        "python-requests/2.31.0",
        id="python",
    ),
    pytest.param(
        "Go-http-client/1.1",
        id="go",
    ),
    pytest.param(
        "okhttp/4.9.2",
        id="okhttp",
    ),
    pytest.param(
        "",
        id="empty",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 11) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36 (compatible; Google-Read-Aloud; "
        "+https://support.google.com/webmasters/answer/1061943)",
        id="google_messages",
    ),
    pytest.param(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; "
        "+http://www.apple.com/go/applebot)",
        id="apple_preview",
    ),
    pytest.param(
        "facebookexternalhit/1.1 kakaotalk-scrap/1.0; +https://devtalk.kakao.com/",
        id="kakao_scrap",
    ),
    pytest.param(
        "Pinterest/0.2 (+https://www.pinterest.com/bot.html)",
        id="pinterest_bot",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0 BingPreview/1.0b",
        id="microsoft_preview",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SkypeUriPreview Preview/0.5",
        id="teams",
    ),
    pytest.param(
        "Mozilla/5.0 (compatible; redditbot/1.0; +http://www.reddit.com/feedback)",
        id="redditbot",
    ),
    pytest.param(
        "Wget/1.21.4",
        id="wget",
    ),
]


@pytest.mark.parametrize("agent", PEOPLE)
def test_people_are_people(agent: str) -> None:
    assert not is_bot("GET", agent)


@pytest.mark.parametrize("agent", BOTS)
def test_previews_scanners_and_crawlers_are_bots(agent: str) -> None:
    assert is_bot("GET", agent)


def test_head_is_never_a_person() -> None:
    assert is_bot("HEAD", PEOPLE[0].values[0])


def _random_agents(count: int) -> list[str]:
    rng = random.Random(42)
    alphabet = string.ascii_letters + string.digits + " /.;()-_+:"
    shapes = [
        lambda: "".join(rng.choice(alphabet) for _ in range(rng.randint(5, 160))),
        lambda: (
            f"Mozilla/5.0 (Linux; Android {rng.randint(5, 15)}; SM-{rng.randint(100, 999)}) "
            f"AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{rng.randint(60, 130)}.0.0.0 "
            "Mobile Safari/537.36"
        ),
        lambda: (
            f"Mozilla/5.0 (compatible; {rng.choice(['Foo', 'Zeta', 'Acme'])}"
            f"{rng.choice(['bot', 'Spider', 'Crawler', 'Fetcher', ''])}/{rng.randint(1, 9)}.0)"
        ),
    ]
    return [rng.choice(shapes)() for _ in range(count)]


def test_the_fast_path_agrees_with_crawlerdetect_wherever_it_does_not_know_better() -> None:
    """Outside the agents richsms classifies itself (previews, in-app browsers), the fast
    classifier gives crawlerdetect's own answer."""
    detector = CrawlerDetect()
    for agent in _random_agents(3000):
        if agent.strip():
            assert is_bot_agent.__wrapped__(agent) == detector.isCrawler(agent), agent
