"""Cost of classifying a user agent never seen before (bot or person), on one core.

Run with `python -m bench.bots`. Every agent in a run is distinct, as in a flood of random
agents, so no cache helps: "before" is crawlerdetect as richsms called it (Python's `re`
over ~1,400 patterns), "after" is `shortener.bots.is_bot_agent` with its cache bypassed.
Three kinds of agents, in equal parts: iPhone Safari and Android Chrome with random
versions and device names (the plain shapes), in-app browsers, and random printable
strings (what a flood would send). Prints µs per new agent, median of several runs, and
how often the two disagree on the same agents (they should only where richsms knows
better: in-app browsers, preview fetchers).
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import time
from collections.abc import Callable

from crawlerdetect import CrawlerDetect

from shortener.bots import is_bot_agent

IN_APPS = (
    "Viber/21.2.0.0",
    "Snapchat/12.50.0.36 (like Chrome/116.0.5845.163)",
    "Line/13.14.1/IAB",
    "Signal/7.3.1",
    "[FB_IAB/FB4A;FBAV/441.0.0.33.113;]",
    "Instagram 312.0.0.32.112 Android (33/13; 450dpi; 1080x2340; samsung; SM-A546B)",
    "WhatsApp/2.23.25.83",
)


def _version(rng: random.Random, parts: int = 3) -> str:
    return ".".join(str(rng.randint(0, 999)) for _ in range(parts))


def agents(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        kind = n % 4
        if kind == 0:
            out.append(
                f"Mozilla/5.0 (iPhone; CPU iPhone OS {rng.randint(12, 18)}_{rng.randint(0, 9)}"
                f" like Mac OS X) AppleWebKit/605.1.{rng.randint(1, 99)} (KHTML, like Gecko)"
                f" Version/{rng.randint(12, 18)}.{rng.randint(0, 9)}"
                f" Mobile/15E{rng.randint(100, 999)} Safari/604.{rng.randint(1, 99)}"
            )
        elif kind == 1:
            out.append(
                f"Mozilla/5.0 (Linux; Android {rng.randint(8, 15)}; SM-G{rng.randint(100, 999)}F)"
                f" AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{_version(rng, 4)}"
                " Mobile Safari/537.36"
            )
        elif kind == 2:
            out.append(
                f"Mozilla/5.0 (Linux; Android {rng.randint(8, 15)}; Pixel {rng.randint(3, 9)}"
                f" Build/TQ3A.{rng.randint(100000, 999999)}.001; wv) AppleWebKit/537.36"
                f" (KHTML, like Gecko) Version/4.0 Chrome/{_version(rng, 4)} Mobile"
                f" Safari/537.36 {rng.choice(IN_APPS)}"
            )
        else:
            alphabet = string.ascii_letters + string.digits + " /.;()-_"
            out.append("".join(rng.choice(alphabet) for _ in range(rng.randint(20, 200))))
    return out


def per_agent_us(
    classify: Callable[[str], bool], count: int, runs: int, pick: slice = slice(None)
) -> float:
    """Median µs per agent; each run gets agents of its own, so nothing is warm."""
    timings = []
    for run in range(runs):
        corpus = agents(count, seed=1000 + run)[pick]
        start = time.perf_counter()
        for agent in corpus:
            classify(agent)
        timings.append((time.perf_counter() - start) / len(corpus) * 1e6)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=4_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    corpus = agents(args.count)
    detector = CrawlerDetect()
    # Both uncached: crawlerdetect's own cache and ours are bypassed.
    before = detector._check_crawler  # noqa: SLF001 - the uncached check, as a new agent costs
    after = is_bot_agent.__wrapped__
    n, runs = args.count, args.runs
    before_us = per_agent_us(lambda a: before(a)[0], n, runs)
    after_us = per_agent_us(after, n, runs)
    plain_before = per_agent_us(lambda a: before(a)[0], n, runs, slice(0, None, 4))
    plain_after = per_agent_us(after, n, runs, slice(0, None, 4))
    flood_before = per_agent_us(lambda a: before(a)[0], n, runs, slice(3, None, 4))
    flood_after = per_agent_us(after, n, runs, slice(3, None, 4))
    disagree = [a for a in corpus if before(a)[0] != after(a)]
    in_app = sum(1 for a in disagree if any(app.split("/")[0] in a for app in IN_APPS))
    print(f"new agents: {len(corpus)} (median of {args.runs} runs, µs per agent)")
    print(f"  all kinds      before {before_us:8.1f}   after {after_us:6.1f}")
    print(f"  iPhone Safari  before {plain_before:8.1f}   after {plain_after:6.1f}")
    print(f"  random strings before {flood_before:8.1f}   after {flood_after:6.1f}")
    print(f"  disagreements: {len(disagree)} ({in_app} of them in-app browsers, now people)")


if __name__ == "__main__":
    main()
