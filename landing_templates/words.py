"""The few words pages say themselves, in each page language."""

from __future__ import annotations

from typing import Any

WORDS: dict[str, dict[str, Any]] = {
    "en": {
        "units": ("days", "hrs", "min", "sec"),
        "time_left": "Time left",
        "copy_label": "Copy",
        "copied": "Copied",
        "used": "Already used",
        "no_coupon": "Your personal code appears on the page from your message.",
        "reveal": "Reveal my prize",
        "scratch_here": "Scratch here",
        "spin": "Spin the wheel",
        "you_won": "You won:",
    },
    "fr": {
        "units": ("jours", "h", "min", "s"),
        "time_left": "Temps restant",
        "copy_label": "Copier",
        "copied": "Copié",
        "used": "Déjà utilisé",
        "no_coupon": "Votre code personnel s’affiche sur la page reçue par SMS.",
        "reveal": "Découvrir mon lot",
        "scratch_here": "Grattez ici",
        "spin": "Tourner la roue",
        "you_won": "Vous avez gagné :",
    },
}

NOTICES: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "expired": ("Offer ended", "This link has expired. Thank you for your interest."),
        "unpublished": ("Page unavailable", "This page is no longer available."),
        "not_found": ("Page not found", "This page does not exist. Check the link you got."),
    },
    "fr": {
        "expired": ("Offre terminée", "Ce lien a expiré. Merci de votre intérêt."),
        "unpublished": ("Page indisponible", "Cette page n’est plus disponible."),
        "not_found": ("Page introuvable", "Cette page n’existe pas. Vérifiez le lien reçu."),
    },
}


def words(language: str) -> dict[str, Any]:
    return WORDS.get(language, WORDS["en"])


def notice(kind: str, language: str) -> tuple[str, str]:
    return NOTICES.get(language, NOTICES["en"])[kind]
