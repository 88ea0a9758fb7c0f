"""Benchmark of the audience analysis: 1,000,000 contacts, one core, < 10 s and < 500 MB.

Run with `python -m bench.audience`. Each case runs in its own process so that its peak
memory (ru_maxrss) is its own; contacts are generated lazily, as a database cursor would
hand them over, and their generation is part of the measured time.

- typical: realistic French/English names and cities, many recipients share values;
- distinct: every contact carries a unique coupon code, so every message is rendered
  and analysed (the cache never hits);
- distinct-jinja: the same, with a template that needs Jinja (a condition, a filter)
  rather than the fast renderer.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Final

from sender.compose.analysis import analyze_audience
from sender.compose.optout_mention import OptOutTexts
from sender.compose.templates import compile_template

CONTACTS: Final = 1_000_000
TIME_TARGET_SECONDS: Final = 10.0
MEMORY_TARGET_MB: Final = 500.0

FIRST_NAMES: Final = (
    "Jean", "Marie", "Pierre", "Sophie", "Luc", "Julie", "Thomas", "Camille", "Nicolas",
    "Emma", "Hugo", "Léa", "Chloé", "Louis", "Manon", "Gabriel", "Inès", "Raphaël",
    "François", "Françoise", "Gaëtan", "Anaïs", "Noël", "Jérôme", "Hélène", "Benoît",
    "Maëlle", "Joël", "Ghislaine", "John", "Emily", "Michael", "Sarah", "David", "Olivia",
    "James", "Jessica", "Marie-Bernadette-Joséphine", "Jean-Christophe-Emmanuel",
    "Maximilien-Alexandre", "",
)  # fmt: skip
CITIES: Final = (
    "Paris", "Lyon", "Marseille", "Toulouse", "Nice", "Nantes", "Strasbourg", "Bordeaux",
    "Lille", "Rennes", "Besançon", "Nîmes", "Orléans", "Saint-Étienne", "Aix-en-Provence",
    "Boulogne-Billancourt", "Châlons-en-Champagne", "Montréal", "London", "Brussels",
)  # fmt: skip
LANGUAGES: Final = ("fr", "fr", "fr", "en")

TYPICAL_TEMPLATE: Final = (
    'Bonjour {{ contact.first_name | default("ami") }}, -20% à {{ contact.city }} : {{ link }}'
)
DISTINCT_TEMPLATE: Final = (
    'Bonjour {{ contact.first_name | default("ami") }}, -20% à {{ contact.city }} '
    "avec le code {{ contact.coupon }} : {{ link }}"
)
# Same message, written with a condition and a filter the fast renderer does not handle:
# every message goes through the sandboxed Jinja template.
CONDITIONAL_TEMPLATE: Final = (
    'Bonjour {{ contact.first_name | default("ami") }}'
    "{% if contact.city %}, -20% à {{ contact.city }}{% endif %} "
    "avec le code {{ contact.coupon | upper }} : {{ link }}"
)
OPT_OUT: Final = OptOutTexts(en="STOP to 36111", fr="STOP au 36111")
PRICE: Final = Decimal("0.045")
LINK_LENGTH: Final = 22  # e.g. "https://rsms.fr/" + a 6-character code


def typical_contacts(count: int, seed: int = 1) -> Iterator[dict[str, object]]:
    rng = random.Random(seed)
    choice = rng.choice
    for _ in range(count):
        yield {
            "first_name": choice(FIRST_NAMES),
            "city": choice(CITIES),
            "language": choice(LANGUAGES),
        }


def distinct_contacts(count: int, seed: int = 2) -> Iterator[dict[str, object]]:
    """Typical contacts, each with a coupon of its own."""
    for number, contact in enumerate(typical_contacts(count, seed)):
        contact["coupon"] = f"C{number * 7919 % 100_000_000:08d}"
        yield contact


CASES: Final = {
    "typical": (TYPICAL_TEMPLATE, typical_contacts),
    "distinct": (DISTINCT_TEMPLATE, distinct_contacts),
    "distinct-jinja": (CONDITIONAL_TEMPLATE, distinct_contacts),
}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_case(name: str, count: int) -> bool:
    """Run one case in this process, print its figures and say whether it met the targets."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    source, generate = CASES[name]
    template = compile_template(source, custom_fields=("city", "coupon"))
    baseline = _peak_mb()

    started = time.perf_counter()
    for _ in generate(count):
        pass
    generation = time.perf_counter() - started

    started, cpu_started = time.perf_counter(), time.process_time()
    result = analyze_audience(
        template,
        generate(count),
        link_length=LINK_LENGTH,
        opt_out=OPT_OUT,
        price_per_segment=PRICE,
    )
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    peak = _peak_mb()

    met = elapsed < TIME_TARGET_SECONDS and peak < MEMORY_TARGET_MB
    verdict = "OK" if met else "MISSED"
    print(
        f"{name:>14}: {result.recipients:,} contacts in {elapsed:.2f} s ({cpu:.2f} s CPU; "
        f"generating them alone takes {generation:.2f} s), peak {peak:.0f} MB "
        f"(baseline {baseline:.0f} MB) -> {verdict}"
    )
    distribution = ", ".join(
        f"{group.encoding}×{group.segments}: {group.recipients:,}" for group in result.distribution
    )
    print(
        f"{'':>16}format {result.format}, {distribution}; "
        f"length {result.min_length}–{result.max_length}, cost {result.estimated_cost}"
    )
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--case", choices=sorted(CASES), help="run one case in this process")
    parser.add_argument("--contacts", type=int, default=CONTACTS)
    arguments = parser.parse_args(argv)
    if arguments.case is not None:
        return 0 if run_case(arguments.case, arguments.contacts) else 1
    status = 0
    for name in CASES:
        command = [sys.executable, "-m", "bench.audience", "--case", name]
        command += ["--contacts", str(arguments.contacts)]
        status |= subprocess.run(command, check=False).returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
