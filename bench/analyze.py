"""Throughput of `sender.compose.encoding.analyze` on single 160-character messages.

Run with `python -m bench.analyze`. The corpus is personalised the way a campaign is
(one distinct text per recipient), so no text is seen twice in a run; `analyze` does
share equal results between texts of the same shape (length, non-GSM characters), as a
campaign's texts mostly are. `--cold` empties those caches before every message, which
gives the cost of a campaign where no two texts have the same shape. Figures are messages
per second on one core, median of several runs; the overall corpus mixes the classes in
equal parts.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import time
from collections.abc import Callable, Sequence

from sender.compose import encoding
from sender.compose.encoding import Analysis, analyze, is_gsm7

MESSAGE_LENGTH = 160

FIRST_NAMES = (
    "Marie",
    "Jean",
    "Camille",
    "Lucas",
    "Léa",
    "Hugo",
    "Chloé",
    "Louis",
    "Emma",
    "Noé",
    "Inès",
    "Gabriel",
    "Zoé",
    "Raphaël",
    "Jade",
    "Arthur",
    "Anaïs",
    "Théo",
    "Manon",
    "Jules",
)
ASCII_FIRST_NAMES = tuple(name for name in FIRST_NAMES if name.isascii())
GSM_FIRST_NAMES = tuple(name for name in FIRST_NAMES if is_gsm7(name))

# The encoding each class must come out in, checked so that the figures stay comparable.
EXPECTED_ENCODING = {"ascii": "GSM-7", "french": "GSM-7", "extension": "GSM-7", "ucs2": "UCS-2"}

# Each class holds templates whose filled text is cut or padded to MESSAGE_LENGTH.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "ascii": (
        "Hi {name}, your order #{n} has shipped and will arrive tomorrow. Track it here: "
        "https://rs.example/t/{n} Reply STOP to opt out.",
        "{name}, flash sale this weekend only: 30% off everything in store and online with "
        "code SPRING{n}. See you soon! STOP to unsubscribe",
    ),
    "french": (
        "Bonjour {name}, votre commande no {n} a été expédiée. Elle arrivera demain à midi. "
        "Suivez-la ici : https://rs.example/t/{n} STOP au 36111",
        "{name}, les soldes d'été débutent la semaine prochaine : -30% sur la collection, "
        "réservé à nos clients fidèles. A très vite ! STOP au 36111",
    ),
    "extension": (
        "Bonjour {name}, profitez de 20€ offerts dès 100€ d'achat avec le code [ETE{n}] sur "
        "https://rs.example/{n} ~ offre valable 48h. STOP au 36111",
        "{name}: your balance is 42€ {{ref {n}}} | pay at https://rs.example/p/{n} before "
        "Friday to avoid fees. Reply STOP to opt out",
        "[Rappel] {name}, votre rendez-vous du 12/06 est confirmé ~ 14h30 | 2 rue des Lilas. "
        "Modifier : https://rs.example/{{rdv}}/{n} STOP au 36111",
    ),
    "ucs2": (
        "Bonjour {name}, c’est le moment : la garçonnière du siècle vous attend 🎉 -30% sur "
        "tout, même les fêtes. Voir https://rs.example/{n} STOP au 36111",
        "{name}, « Noël » arrive ! Votre reçu n°{n} est prêt 🧾 : https://rs.example/r/{n} "
        "— à bientôt chez nous. Répondez STOP pour arrêter",
        "{name}, votre leçon de français est prête : rendez-vous à la fête du goût, côté "
        "jardin, dès 18h. Réponse sur https://rs.example/f/{n} STOP au 36111",
    ),
}


def build_corpus(size_per_class: int, seed: int = 20240611) -> dict[str, list[str]]:
    """Distinct 160-character texts per class, as a campaign would produce."""
    rng = random.Random(seed)
    corpus: dict[str, list[str]] = {}
    for name, templates in TEMPLATES.items():
        names = {"ascii": ASCII_FIRST_NAMES, "ucs2": FIRST_NAMES}.get(name, GSM_FIRST_NAMES)
        texts = []
        for i in range(size_per_class):
            filled = rng.choice(templates).format(name=rng.choice(names), n=10_000 + i)
            text = filled[:MESSAGE_LENGTH].ljust(MESSAGE_LENGTH, ".")
            if analyze(text).encoding != EXPECTED_ENCODING[name]:
                raise ValueError(f"{name} corpus text is not {EXPECTED_ENCODING[name]}: {text!r}")
            texts.append(text)
        corpus[name] = texts
    return corpus


def analyze_cold(text: str) -> Analysis:
    encoding._RESULTS.clear()
    encoding._UNSUPPORTED.clear()
    return analyze(text)


def messages_per_second(analyse: Callable[[str], object], texts: Sequence[str]) -> float:
    start = time.perf_counter()
    for text in texts:
        analyse(text)
    return len(texts) / (time.perf_counter() - start)


def median_rate(analyse: Callable[[str], object], texts: Sequence[str], runs: int) -> float:
    messages_per_second(analyse, texts)  # warm-up: regex caches, branch predictors
    return statistics.median(messages_per_second(analyse, texts) for _ in range(runs))


def pin_to_one_core(core: int | None) -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    if core is None:
        # The last core: the first is where other pinned jobs and interrupts tend to land.
        core = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to core {core}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=5_000, help="messages per class")
    parser.add_argument("--runs", type=int, default=9, help="timed runs; the median is shown")
    parser.add_argument("--cold", action="store_true", help="no result shared between texts")
    parser.add_argument("--core", type=int, default=None, help="core to pin to (default: last)")
    args = parser.parse_args(argv)

    print(pin_to_one_core(args.core))
    corpus = build_corpus(args.size)
    mixed = [text for texts in corpus.values() for text in texts]
    random.Random(1).shuffle(mixed)
    analyse = analyze_cold if args.cold else analyze
    gc.collect()

    for name, texts in corpus.items():
        sample = analyze(texts[0])
        rate = median_rate(analyse, texts, args.runs)
        print(
            f"{name:>10}: {rate:>11,.0f} msg/s  "
            f"(e.g. {sample.encoding}, {sample.units} units, {sample.segments} segments)"
        )
    overall = median_rate(analyse, mixed, args.runs)
    print(f"{'overall':>10}: {overall:>11,.0f} msg/s  (median of {args.runs} runs, mixed corpus)")


if __name__ == "__main__":
    main()
