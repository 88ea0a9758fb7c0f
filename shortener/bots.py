"""Which requests are not a person tapping a link: previews, scanners, crawlers, HEAD."""

from __future__ import annotations

import re
from functools import lru_cache

from crawlerdetect import CrawlerDetect

# Link-preview fetchers and URL scanners that messaging apps and carriers run on every
# link they see; several are not in crawler lists because they are not crawlers.
_PREVIEW_AGENTS = re.compile(
    "|".join(
        [
            r"facebookexternalhit",
            r"facebookcatalog",
            r"meta-externalagent",
            r"WhatsApp",
            r"Twitterbot",
            r"Slackbot",
            r"Slack-ImgProxy",
            r"TelegramBot",
            r"Discordbot",
            r"SkypeUriPreview",
            r"LinkedInBot",
            r"Pinterest",
            r"redditbot",
            r"Iframely",
            r"Embedly",
            r"vkShare",
            r"Viber",
            r"Line/\d",
            r"KakaoTalk",
            r"Snapchat",
            r"Signal",
            r"Mattermost",
            r"Google-PageRenderer",
            r"Google-Read-Aloud",
            r"GoogleImageProxy",
            r"bingpreview",
            r"BingPreview",
            r"Microsoft Office",
            r"MSOffice",
            r"Outlook",
            r"ms-office",
            r"Microsoft-WebDAV",
            r"SafeLinks",
            r"Barracuda",
            r"Mimecast",
            r"Proofpoint",
            r"ZScaler",
            r"urlscan",
            r"CheckMarkNetwork",
            r"Bytespider",
            r"AppleBot",
            r"Applebot",
            r"com\.apple\.(?:Safari|messages)",
            r"iMessage",
            r"LinkPreview",
            r"Yahoo Link Preview",
            r"Nuzzel",
            r"Qwantify",
            r"HeadlessChrome",
            r"PhantomJS",
            r"python-requests",
            r"python-httpx",
            r"aiohttp",
            r"curl/",
            r"Wget",
            r"Go-http-client",
            r"okhttp",
            r"Java/",
            r"libwww-perl",
            r"HTTPie",
        ]
    ),
    re.IGNORECASE,
)
# iMessage fetches previews with a desktop Safari agent plus Facebook's and Twitter's
# tokens; that combination never comes from a person's browser.
_IMESSAGE = re.compile(r"facebookexternalhit.*Twitterbot|Twitterbot.*facebookexternalhit")

_detector = CrawlerDetect()


@lru_cache(maxsize=20_000)
def is_bot_agent(user_agent: str) -> bool:
    if not user_agent.strip():
        return True
    if _PREVIEW_AGENTS.search(user_agent) or _IMESSAGE.search(user_agent):
        return True
    return bool(_detector.isCrawler(user_agent))


def is_bot(method: str, user_agent: str) -> bool:
    """HEAD never counts as a person; otherwise the agent decides."""
    return method == "HEAD" or is_bot_agent(user_agent)
