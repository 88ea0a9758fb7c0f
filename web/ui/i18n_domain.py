"""French for the domain's messages the UI shows (richsms/errors.py: an error with
parameters is translated by its English template, then filled)."""

from __future__ import annotations

FR: dict[str, str] = {
    # Merge-field templates (richsms/template_checks.py, richsms/merge_fields.py).
    "'{name}' cannot be redefined": "« {name} » ne peut pas être redéfini",
    "'{name}' alone is not a value: use a field, e.g. {{{{ {name}.first_name }}}}": (
        "« {name} » seul n'est pas une valeur : utilisez un champ, par exemple "
        "{{{{ {name}.first_name }}}}"
    ),
    "Unknown variable '{name}': only {available} are available": (
        "Variable inconnue « {name} » : seules {available} sont disponibles"
    ),
    "'contact' and 'link'": "'contact' et 'link'",
    "Unknown field '{field}'. Known fields: {known}": (
        "Champ inconnu « {field} ». Champs connus : {known}"
    ),
    'A field must be named literally, e.g. contact["city"]': (
        'Un champ se nomme tel quel, par exemple contact["city"]'
    ),
    "Unknown filter '{name}'": "Filtre inconnu « {name} »",
    "Unknown test '{name}'": "Test inconnu « {name} »",
    "'{tag}' is not available here": "« {tag} » n'est pas disponible ici",
    "'{attribute}' is not accessible here": "« {attribute} » n'est pas accessible ici",
    "{problem} (line {line}, column {column})": "{problem} (ligne {line}, colonne {column})",
    "Syntax error (line {line}, column {column}): {message}": (
        "Erreur de syntaxe (ligne {line}, colonne {column}) : {message}"
    ),
    "The template is not allowed: {reason}": "Ce modèle n'est pas permis : {reason}",
    "The message could not be rendered: {reason}": (
        "Le message n'a pas pu être produit : {reason}"
    ),
    "The message could not be rendered (line {line}): {reason}": (
        "Le message n'a pas pu être produit (ligne {line}) : {reason}"
    ),
    "The message could not be rendered: {length} characters, more than the {allowed} allowed": (
        "Le message n'a pas pu être produit : {length} caractères, plus que les {allowed} "
        "permis"
    ),
    "the template calls itself too deeply": "le modèle s'appelle lui-même trop profondément",
    "the template took too long to render": "le modèle a pris trop de temps",
    "the template does too much work": "le modèle demande trop de calculs",
    "The analysis was stopped: rendering the audience's messages took more than "
    "{seconds} s in all. Simplify the template.": (
        "L'analyse a été arrêtée : produire les messages de l'audience a pris plus de "
        "{seconds} s au total. Simplifiez le modèle."
    ),
    # Campaigns (sender/campaigns/campaign.py) and the composer's own.
    "a campaign needs a name": "une campagne a besoin d'un nom",
    "the template has {{ link }}: give the campaign a target_url or a page_id": (
        "le message contient {{ link }} : donnez à la campagne une adresse de destination "
        "ou une page"
    ),
    "choose an audience: at least one group or segment": (
        "choisissez une audience : au moins un groupe ou un segment"
    ),
    "the sending window is empty: window_start equals window_end": (
        "la plage d'envoi est vide : elle finit quand elle commence"
    ),
    "rate must be between 0 and 10000 messages per second": (
        "le débit est compris entre 0 et 10 000 messages par seconde"
    ),
    "give the phone number to send the test to": (
        "indiquez le numéro de téléphone qui recevra l'envoi test"
    ),
    "give the date, time and a valid time zone (Europe/Paris)": (
        "indiquez la date, l'heure et un fuseau horaire valide (Europe/Paris)"
    ),
    "no image uploaded yet: upload one first": (
        "aucune image pour l'instant : importez-en une d'abord"
    ),
    # Segments (sender/audience/segments.py).
    "filters[{index}]: {reason}": "condition {n} : {reason}",
    "{op} needs a non-empty value": "« {op} » demande une valeur",
    "a segment needs a name of 1 to {most} characters": (
        "un segment a besoin d'un nom de 1 à {most} caractères"
    ),
    "a segment named {name} already exists": "un segment nommé {name} existe déjà",
    "messages_received is compared with a whole number from 0 to {most}": (
        "le nombre de messages reçus se compare à un nombre entier de 0 à {most}"
    ),
    "a value has at most {most} characters": "une valeur a au plus {most} caractères",
    "not an ISO 8601 time from {low} to {high}: {value}": (
        "pas une date ISO 8601 entre {low} et {high} : {value}"
    ),
    "created_at is compared with an ISO 8601 time": (
        "la date d'inscription se compare à une date ISO 8601 (AAAA-MM-JJ)"
    ),
    # Contact imports (sender/csv_*.py, sender/audience/phones.py): the file, then each row.
    "the file is empty": "le fichier est vide",
    "the file has no header row": "le fichier n'a pas de ligne d'en-tête",
    "this is not a CSV file: it contains binary data": (
        "ce n'est pas un fichier CSV : il contient des données binaires"
    ),
    "the file starts like UTF-16 text but is not": (
        "le fichier commence comme du texte UTF-16 mais n'en est pas"
    ),
    "malformed CSV at row {row} (line {line}): {reason}": (
        "CSV mal formé à la ligne {row} (ligne de texte {line}) : {reason}"
    ),
    "malformed CSV at row {row} (line {line}): {reason} (a quote is left open)": (
        "CSV mal formé à la ligne {row} (ligne de texte {line}) : {reason} (un guillemet "
        "n'est pas refermé)"
    ),
    "the file has no phone column: name one phone, mobile, téléphone, numéro, tel or msisdn "
    "(columns found: {found})": (
        "le fichier n'a pas de colonne de numéro : nommez-en une téléphone, mobile, numéro, "
        "tel, phone ou msisdn (colonnes trouvées : {found})"
    ),
    "the file has {count} custom columns: at most {most} are kept per contact (remove the "
    "ones you do not need)": (
        "le fichier a {count} colonnes personnalisées : {most} au plus sont gardées par "
        "contact (retirez celles dont vous n'avez pas besoin)"
    ),
    "{cells} cells but the header has {width} (a separator inside a value that is not "
    "quoted?)": (
        "{cells} cellules alors que l'en-tête en a {width} (un séparateur dans une valeur "
        "sans guillemets ?)"
    ),
    "no phone number": "pas de numéro de téléphone",
    "not a valid number for {region}: {number}": "numéro non valide pour {region} : {number}",
    "not an international number (+ and a country code): {number}": (
        "pas un numéro international (+ et l'indicatif du pays) : {number}"
    ),
    "not a valid international number: {number}": (
        "numéro international non valide : {number}"
    ),
    "{reason} (numbers without a country code are read in {region}); did you mean "
    "{number} ({country})? Write it with its country code.": (
        "{reason} (les numéros sans indicatif sont lus pour {region}) ; vouliez-vous dire "
        "{number} ({country}) ? Écrivez-le avec son indicatif."
    ),
    "not a date: {value} (use YYYY-MM-DD or DD/MM/YYYY)": (
        "pas une date : {value} (écrivez AAAA-MM-JJ ou JJ/MM/AAAA)"
    ),
    "the consent date is in the future: {value}": (
        "la date du consentement est dans le futur : {value}"
    ),
}
