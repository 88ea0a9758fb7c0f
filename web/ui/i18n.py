"""The UI's words in French and English, chosen from the switch (a cookie) or else the
browser's language. A missing French word shows the English one, never a key."""

from __future__ import annotations

from starlette.requests import Request

LANGUAGES = ("fr", "en")
LANG_COOKIE = "richsms_lang"

FR: dict[str, str] = {
    "Sign in": "Se connecter",
    "Sign out": "Se déconnecter",
    "Email": "E-mail",
    "Password": "Mot de passe",
    "Wrong email or password.": "E-mail ou mot de passe incorrect.",
    "Too many attempts: wait a few minutes.": "Trop d'essais : patientez quelques minutes.",
    "The form expired: try again.": "Le formulaire a expiré : réessayez.",
    "Campaigns": "Campagnes",
    "Contacts": "Contacts",
    "Phone simulator": "Simulateur de téléphone",
    "New campaign": "Nouvelle campagne",
    "Awaiting approval": "En attente de validation",
    "Scheduled": "Programmées",
    "Sending": "En cours d'envoi",
    "Done": "Terminées",
    "Drafts": "Brouillons",
    "Other": "Autres",
    "No campaign yet.": "Aucune campagne pour l'instant.",
    "Results": "Résultats",
    "Planned": "Produits",
    "Sent": "Envoyés",
    "Delivered": "Délivrés",
    "Failed": "Échecs",
    "Clicks": "Clics",
    "Unique clicks": "Clics uniques",
    "Click-through rate": "Taux de clic",
    "Redemptions": "Utilisations",
    "Redemption rate": "Taux d'utilisation",
    "Opt-outs": "Désabonnements",
    "Opt-out rate": "Taux de désabonnement",
    "Replies": "Réponses",
    "Errors": "Erreurs",
    "Remaining": "Restants",
    "Cost": "Coût",
    "Read within 3 minutes": "Lus en moins de 3 minutes",
    "Median reading delay": "Délai de lecture médian",
    "Reading delay": "Délai de lecture",
    "Clicks over time": "Clics dans le temps",
    "Clicks per minute, first hour": "Clics par minute, première heure",
    "No clicks yet": "Pas encore de clic",
    "Export messages (CSV)": "Exporter les messages (CSV)",
    "Export clicks (CSV)": "Exporter les clics (CSV)",
    "Approve": "Valider",
    "Send": "Envoyer",
    "Cancel campaign": "Annuler la campagne",
    "Test send": "Envoi test",
    "Phone number": "Numéro de téléphone",
    "Search": "Rechercher",
    "Name": "Nom",
    "Phone": "Téléphone",
    "Language": "Langue",
    "Status": "Statut",
    "subscribed": "abonné",
    "opted_out": "désabonné",
    "Messages": "Messages",
    "Message": "Message",
    "Type": "Type",
    "promotional": "promotionnel",
    "informational": "informatif",
    "administrative": "administratif",
    "Sender": "Expéditeur",
    "Default sender": "Expéditeur par défaut",
    "Text": "Texte",
    "Insert a field": "Insérer un champ",
    "An image from this device": "Une image de cet appareil",
    "Link to": "Lien vers",
    "Groups": "Groupes",
    "Segments": "Segments",
    "Schedule": "Programmation",
    "Now": "Maintenant",
    "At a date and time": "À une date et une heure",
    "At each recipient's local time": "À l'heure locale de chaque destinataire",
    "Quiet hours: deliver between": "Heures de silence : délivrer entre",
    "and": "et",
    "Rate (messages per second)": "Débit (messages par seconde)",
    "Requires a second marketer's approval": "Nécessite la validation d'un second marketeur",
    "Save campaign": "Enregistrer la campagne",
    "SMS analysis": "Analyse du SMS",
    "Length": "Longueur",
    "Format": "Format",
    "Segments per SMS": "Nombre de SMS",
    "characters": "caractères",
    "Estimated cost": "Coût estimé",
    "Distribution over the audience": "Répartition sur l'audience",
    "recipients": "destinataires",
    "Suggestions to stay in GSM-7": "Suggestions pour rester en GSM-7",
    "Accept": "Accepter",
    "Characters forcing UCS-2": "Caractères imposant l'UCS-2",
    "Preview": "Aperçu",
    "No message yet.": "Aucun message pour l'instant.",
    "Reply": "Répondre",
    "Messages received by": "Messages reçus par",
    "Consent history": "Historique du consentement",
    "History": "Historique",
    "Progress": "Progression",
    "Excluded": "Exclus",
    "Back": "Retour",
    "Language of the interface": "Langue de l'interface",
    "Dashboard": "Tableau de bord",
    "Campaign created.": "Campagne enregistrée.",
    "Approved.": "Validée.",
    "Sending requested.": "Envoi demandé.",
    "Test message queued.": "Message test mis en file.",
    "Cancelled.": "Annulée.",
    "Compare": "Comparer",
    "Subscribers": "Abonnés",
    "Growth over 30 days": "Évolution sur 30 jours",
    "Opt-ins": "Abonnements",
    "Net": "Solde",
    "Pages": "Pages",
    "Skip to content": "Aller au contenu",
    "Previous": "Précédent",
    "Next": "Suivant",
}

# The page builder's words (web/ui/builder*.py, templates/ui/builder*.html, pages.html);
# words already above keep their translation.
FR = {
    "Pages": "Pages",
    "New page": "Nouvelle page",
    "Language": "Langue",
    "Status": "Statut",
    "Version": "Version",
    "Updated": "Modifiée",
    "No page yet.": "Aucune page pour l'instant.",
    "draft": "brouillon",
    "published": "publiée",
    "Draft": "Brouillon",
    "Published": "Publiée",
    "Live version": "Version en ligne",
    "live": "en ligne",
    "Blocks": "Blocs",
    "No block yet: add one below.": "Aucun bloc : ajoutez-en un ci-dessous.",
    "Drag to move": "Glisser pour déplacer",
    "Move up": "Monter",
    "Move down": "Descendre",
    "Delete": "Supprimer",
    "Edit": "Modifier",
    "Save block": "Enregistrer le bloc",
    "Add a block": "Ajouter un bloc",
    "Save": "Enregistrer",
    "Publish": "Publier",
    "Versions": "Versions",
    "Created": "Créée",
    "Preview": "Aperçu",
    "Audience": "Audience",
    "All contacts": "Tous les contacts",
    "Group": "Groupe",
    "Segment": "Segment",
    "See it as": "Voir comme",
    "Show": "Afficher",
    "Nobody in particular": "Personne en particulier",
    "Preview of the draft on a phone": "Aperçu du brouillon sur un téléphone",
    "The preview records nothing and assigns no coupon.": (
        "L'aperçu n'enregistre rien et n'attribue aucun coupon."
    ),
    "Every change is saved in the draft; publish it for new links to show it.": (
        "Chaque modification est enregistrée dans le brouillon ; publiez-le "
        "pour que les nouveaux liens l'affichent."
    ),
    "Check the highlighted fields.": "Vérifiez les champs signalés.",
    "Block added.": "Bloc ajouté.",
    "Block saved.": "Bloc enregistré.",
    "Block deleted.": "Bloc supprimé.",
    "Block moved.": "Bloc déplacé.",
    "Page saved.": "Page enregistrée.",
    "Page published.": "Page publiée.",
    "Insert a field": "Insérer un champ",
    "Heading": "Titre",
    "Image": "Image",
    "Button": "Bouton",
    "Footer": "Pied de page",
    "Countdown": "Compte à rebours",
    "Coupon": "Coupon",
    "Scratch card": "Carte à gratter",
    "Wheel": "Roue",
    "Text": "Texte",
    "Level": "Niveau",
    "Title": "Titre",
    "Subtitle": "Sous-titre",
    "Description for screen readers": "Description pour les lecteurs d'écran",
    "Label": "Libellé",
    "Link (https://, tel: or sms:)": "Lien (https://, tel: ou sms:)",
    "Ends at": "Se termine le",
    "Time zone": "Fuseau horaire",
    "Text once ended": "Texte une fois terminé",
    "Prize": "Lot",
    "A message": "Un message",
    "A coupon": "Un coupon",
    "Message": "Message",
    "Weight": "Poids",
    "Wins a coupon": "Gagne un coupon",
    "Coupon source": "Origine des codes",
    "Generated codes": "Codes générés",
    "Codes from a pool": "Codes d'un lot importé",
    "Code pattern (# a digit, ? a letter)": "Modèle de code (# un chiffre, ? une lettre)",
    "Coupon pool": "Lot de codes",
    "Shown as": "Affiché en",
    "Barcode (Code 128)": "Code-barres (Code 128)",
    "Barcode (EAN-13)": "Code-barres (EAN-13)",
    "QR code": "QR code",
} | FR

TRANSLATIONS = {"fr": FR}


def choose_language(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    best, best_q = "en", -1.0
    for item in request.headers.get("accept-language", "").split(",")[:20]:
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower()[:2]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best


def translator(language: str) -> dict[str, str]:
    return TRANSLATIONS.get(language, {})


def gettext(language: str, text: str) -> str:
    return TRANSLATIONS.get(language, {}).get(text, text)
