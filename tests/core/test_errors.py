"""Domain errors told in another language: the English template translated, then filled."""

from __future__ import annotations

import pickle

from richsms.errors import InvalidInput
from richsms.merge.checks import Problem, TemplateError

FR = {
    "Unknown field '{field}'. Known fields: {known}": "Champ inconnu « {field} » ({known})",
    "{problem} (line {line}, column {column})": "{problem} (ligne {line}, colonne {column})",
    "the template calls itself too deeply": "le modèle s'appelle lui-même trop profondément",
    "The message could not be rendered: {reason}": "Le message n'a pas pu être produit : {reason}",
    "Password": "Mot de passe",
    "a campaign needs a name": "une campagne a besoin d'un nom",
    "Broken {missing}": "Cassé {absent}",
}


def french(text: str) -> str:
    return FR.get(text, text)


def test_the_message_stays_english_and_is_told_in_french() -> None:
    error = Problem(
        2,
        12,
        "Unknown field '{field}'. Known fields: {known}",
        {"field": "Password", "known": "first_name, phone"},
    ).error()
    assert error.message == (
        "Unknown field 'Password'. Known fields: first_name, phone (line 2, column 12)"
    )
    # A name stays as typed, even one that is also a word of the interface.
    assert error.told(french) == (
        "Champ inconnu « Password » (first_name, phone) (ligne 2, colonne 12)"
    )


def test_a_sentence_among_the_parameters_is_translated_and_plain_messages_too() -> None:
    deep = TemplateError(
        "The message could not be rendered: {reason}",
        params={"reason": "the template calls itself too deeply"},
    )
    assert deep.message == "The message could not be rendered: the template calls itself too deeply"
    assert deep.told(french) == (
        "Le message n'a pas pu être produit : le modèle s'appelle lui-même trop profondément"
    )
    assert InvalidInput("a campaign needs a name").told(french) == "une campagne a besoin d'un nom"
    assert InvalidInput("no translation here").told(french) == "no translation here"


def test_a_translation_asking_for_an_unknown_name_never_raises() -> None:
    assert InvalidInput("Broken {missing}", params={"missing": "x"}).told(french) == "Cassé …"


def test_an_error_wrapped_in_another_is_told_the_same_way() -> None:
    inner = InvalidInput("{op} needs a non-empty value", params={"op": "contains"})
    outer = InvalidInput("filters[{index}]: {reason}", params={"index": 1, "n": 2, "reason": inner})
    assert outer.message == "filters[1]: contains needs a non-empty value"
    fr = {
        "filters[{index}]: {reason}": "condition {n} : {reason}",
        "{op} needs a non-empty value": "« {op} » demande une valeur",
    }
    told = outer.told(lambda text: fr.get(text, text))
    assert told == "condition 2 : « contains » demande une valeur"


class _NumberError(InvalidInput):
    def __init__(self, error: InvalidInput, raw: str) -> None:
        super().__init__(error.template, params=error.params or None)
        self.raw = raw


def test_an_error_crosses_processes_whole_whatever_its_constructor_takes() -> None:
    """Errors come back from worker processes (`richsms.processes`) pickled: a subclass
    whose constructor takes other arguments is rebuilt with its message, its parameters
    to translate and its own attributes."""
    error = _NumberError(InvalidInput("not a valid number for {region}", params={"region": "FR"}),
                         "12345")  # fmt: skip
    error.code = "bad_number"
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is _NumberError
    assert (again.message, again.params, again.raw, again.code) == (
        "not a valid number for FR", {"region": "FR"}, "12345", "bad_number"
    )
    assert again.told(lambda s: s.replace("not a valid number for", "numéro invalide en")) == (
        "numéro invalide en FR"
    )
