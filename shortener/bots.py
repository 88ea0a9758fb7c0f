"""Which requests are not a person tapping a link: previews, scanners, crawlers, HEAD.

Classifying an agent never seen before must cost microseconds: the click writer's thread
does it for every click, and a flood of random agents must not cap the redirect. In order:
1. link-preview fetchers and URL scanners by name (one regex over the lower-cased agent);
2. in-app browsers (a person who tapped the link inside Viber, Snapchat, LINE, Facebook,
   Instagram, WhatsApp…) are people, although their apps' names are in crawler lists;
3. the common phone and desktop browsers, recognised by their exact shape, are people;
4. anything else goes through crawlerdetect's patterns, matched by RE2 (linear time, one
   pass over the 1,400 patterns) instead of Python's backtracking engine.
Results are cached: the same phones come back.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from crawlerdetect.providers.crawlers import data as _CRAWLERS
from crawlerdetect.providers.exclusions import data as _EXCLUSIONS


def _fast(pattern: str) -> Any:
    """RE2 (linear time, all alternatives in one pass) when it takes the pattern, else re."""
    try:
        import re2
    except ImportError:  # pragma: no cover - google-re2 is a dependency
        return re.compile(pattern)
    options = re2.Options()
    options.max_mem = 64 << 20
    options.log_errors = False
    return re2.compile(pattern, options)


# Matched against the lower-cased agent. Link-preview fetchers and URL scanners that
# messaging apps, mail services and carriers run on every link they see; several are
# not in crawler lists because they are not crawlers.
_PREVIEWS = _fast(
    "|".join(
        [
            r"facebookexternalhit",
            r"facebookcatalog",
            r"meta-externalagent",
            r"^whatsapp/",  # WhatsApp's previews (and Signal's, which borrows the name)
            r"twitterbot",
            r"slackbot",
            r"slack-imgproxy",
            r"telegrambot",
            r"discordbot",
            r"skypeuripreview",
            r"linkedinbot",
            r"^pinterest/",
            r"pinterestbot",
            r"redditbot",
            r"iframely",
            r"embedly",
            r"vkshare",
            r"kakaotalk-scrap",
            r"line-poker",
            r"snap url preview",
            r"^viber/",
            r"mattermost",
            r"google-pagerenderer",
            r"google-read-aloud",
            r"googleimageproxy",
            r"bingpreview",
            r"microsoft office",
            r"msoffice",
            r"outlook",
            r"ms-office",
            r"microsoft-webdav",
            r"safelinks",
            r"barracuda",
            r"mimecast",
            r"proofpoint",
            r"zscaler",
            r"urlscan",
            r"checkmarknetwork",
            r"bytespider",
            r"applebot",
            r"com\.apple\.(?:safari|messages)",
            r"imessage",
            r"linkpreview",
            r"yahoo link preview",
            r"nuzzel",
            r"qwantify",
            r"headlesschrome",
            r"phantomjs",
            r"python-requests",
            r"python-httpx",
            r"aiohttp",
            r"curl/",
            r"wget",
            r"go-http-client",
            r"okhttp",
            r"java/",
            r"libwww-perl",
            r"httpie",
        ]
    )
)

# A phone's web view (`wv`, or iOS's WebKit without Safari's token) carrying the name of
# the app it runs in. Previews never look like this; they say `bot` or `preview`.
_IN_APP = re.compile(
    r"^mozilla/5\.0 \((?:iphone|ipad|linux; android)[^)]*\) applewebkit/[\d.]+ "
    r"\(khtml, like gecko\).*(?:viber/|snapchat/|\bline/|signal/|\[fban/|\[fb_iab/|"
    r"instagram \d|whatsapp/|telegram-android/|kakaotalk|musical_ly|bytedancewebview|"
    r"\[linkedinapp\]|\[pinterest/|twitter for|gsa/|messengerlite|fb4a)"
)
_BOT_WORDS = re.compile(r"bot\b|bot/|preview|crawl|spider|scrap|compatible;")

# The plain shapes of the browsers nearly every click comes from. Only what these match
# skips the crawler patterns, so an agent with anything extra in it is checked in full.
_PLAIN_BROWSER = re.compile(
    r"mozilla/5\.0 \("
    r"(?:(?:iphone|ipad); cpu (?:iphone )?os [\d_]+ like mac os x"
    r"|linux; android [\d.]+(?:; [a-z0-9 ._-]{1,40}(?: build/[a-z0-9._-]+)?)?(?:; wv)?"
    r"|windows nt [\d.]+(?:; win64; x64)?"
    r"|macintosh; intel mac os x [\d_]+)"
    r"\) applewebkit/[\d.]+ \(khtml, like gecko\)"
    r"(?: version/[\d.]+)?(?: (?:crios|fxios|edgios|samsungbrowser)/[\d.]+)?"
    r"(?: chrome/[\d.]+)?(?: mobile(?:/[a-z0-9]+)?)?(?: safari/[\d.]+)?(?: edg/[\d.]+)?"
    r"|mozilla/5\.0 \((?:android [\d.]+; mobile|windows nt [\d.]+; win64; x64|"
    r"macintosh; intel mac os x [\d.]+); rv:[\d.]+\) gecko/[\d.]+ firefox/[\d.]+"
)

# crawlerdetect's own procedure: strip its exclusions, then search its crawler patterns.
_STRIP = _fast("|".join(pattern.lower() for pattern in _EXCLUSIONS))
_CRAWLER_PY = re.compile("(" + "|".join(_CRAWLERS) + ")", re.IGNORECASE)


def _compile_crawlers() -> Any:
    """RE2 for the crawler patterns when available (it has no lookahead: the one pattern
    using it is loosened, and a match on it is confirmed with Python's engine)."""
    try:
        import re2
    except ImportError:  # pragma: no cover - google-re2 is a dependency
        return None
    options = re2.Options()
    options.case_sensitive = False
    options.max_mem = 64 << 20
    options.log_errors = False
    patterns = [re.sub(r"\(\?!.*?\)", "", p) for p in _CRAWLERS]
    return re2.compile("(?:" + "|".join(patterns) + ")", options)


_CRAWLER_RE2 = _compile_crawlers()
_LOOKAHEAD_PREFIXES = tuple(
    re.sub(r"\(\?!.*?\)", "", p).lower() for p in _CRAWLERS if "(?!" in p
)


def _crawler(lowered: str) -> bool:
    agent = _STRIP.sub("", lowered)
    if not agent:
        return False
    if _CRAWLER_RE2 is None:
        return _CRAWLER_PY.search(agent) is not None
    found = _CRAWLER_RE2.search(agent)
    if found is None:
        return False
    if found.group(0).startswith(_LOOKAHEAD_PREFIXES):
        return _CRAWLER_PY.search(agent) is not None
    return True


@lru_cache(maxsize=20_000)
def is_bot_agent(user_agent: str) -> bool:
    agent = user_agent.strip().lower()
    if not agent:
        return True
    if _PREVIEWS.search(agent):
        return True
    if _IN_APP.search(agent):
        return _BOT_WORDS.search(agent) is not None
    if _PLAIN_BROWSER.fullmatch(agent):
        return False
    return _crawler(agent)


def is_bot(method: str, user_agent: str) -> bool:
    """HEAD never counts as a person; otherwise the agent decides."""
    return method == "HEAD" or is_bot_agent(user_agent)
