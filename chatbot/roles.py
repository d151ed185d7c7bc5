"""Who holds a role: "Who is the CEO of Cruise?" is answered by a sentence that names someone beside the role
("co-founder and CEO Kyle Vogt"), for the owner the question asks about ("Hawthorn coach Bec Goddard" is not
Richmond's coach), and led by a holder the question asks for (not a former one when it asks who holds it now)."""

from __future__ import annotations

import re

from chatbot import entities
from chatbot.composer import holds_kind, mentions
from index.text import WORD, content_words

# The same role said otherwise: "Who is iRobot's CEO?" is answered by "chief executive Colin Angle".
_ROLE_SAID = {
    "ceo": ["chief executive"], "chief executive": ["ceo"], "chair": ["chairman", "chairwoman", "chairperson"],
    "manager": ["coach", "head coach"], "coach": ["manager"], "head coach": ["manager"],  # a football club's manager
}


def holds_role(text: str, role: str) -> bool:
    """Whether the text names the role a "Who is the <role> of X?" question asks about (its words, or the same
    role said otherwise)."""
    return not role or re.search(_role_pattern(role), text) is not None


# Titles written between a role and its holder's name ("speaker pro tempore, Rep. Patrick McHenry").
_TITLE = r"(?:(?:Rep|Sen|Senator|Dr|Mr|Mrs|Ms|Gen|Sir|Dame|Prof|Professor|Judge|Justice|Gov|President|Lord|Lady)\.?\s+)"
_CAPITALISED_WORD = r"[A-Z][\w.&'’-]*"
_TWO_CAPITALISED = re.compile(r"\b[A-Z][a-z'’-]+\s+[A-Z][a-z'’-]+\b")
_NOT_OWNER = {"new", "former", "current", "interim", "acting", "then", "longtime", "veteran", "deputy", "senior", "chief"}
OWNER_PREFIX = 5  # letters an owner's word shares with the question's ("Australian captain" for "Australia's captain")


def _role_pattern(role: str) -> str:
    """The role as written in a sentence, any case: its words, or the same role said otherwise."""
    forms = [role] + _ROLE_SAID.get(role.lower(), [])
    return r"\b(?i:" + "|".join(r"[\s-]+".join(re.escape(w) for w in form.split()) for form in forms) + r")\b"


def _owned_by(owner: str, asked: str) -> bool:
    """Whether the capitalised words qualifying a role ("Hawthorn" in "Hawthorn coach") are the asked owner's: a
    role with no qualifier belongs to the sentence's own subject."""
    words = content_words(re.sub(r"['’]s\b", "", owner)) - _NOT_OWNER
    if not words:
        return True
    asked_words = {w[:OWNER_PREFIX] for w in content_words(re.sub(r"['’]s\b", "", asked))}
    return any(w[:OWNER_PREFIX] in asked_words for w in words)


# The organisation or place a sentence opens with, as its subject ("The Wild have relieved head coach ...").
_OPENING = re.compile(r"^\W*(?:The\s+)?((?:[A-Z][\w&'’.-]*\s+){0,2}[A-Z][\w&'’.-]*)\s+(?=[a-z])")


def opening_subject(text: str, organisations: list[str]) -> str:
    """The organisation or place the sentence opens with (one the recogniser found in it), or ""."""
    match = _OPENING.match(text)
    return match.group(1) if match and match.group(1) in organisations else ""


def _initials(words: str) -> str:
    return "".join(w[0] for w in re.findall(r"[A-Za-z][\w'’]*", words.replace(".", " ")) if w[0].isupper() or w not in ("of", "the", "and"))


def names_holder(text: str, role: str, people: list[str], owner: str, subject: str = "") -> list[tuple[str, set[str]]]:
    """How the sentence names one of `people` as holding `role` for `owner` (the owner's words; the question with
    its topic when it names none): each holder found, with the words said about the holding ("former",
    "interim", ...). The role is written beside the name ("Kick CEO Eddie Craven", "the CEO of Cruise, Kyle Vogt",
    "Patrick McHenry, the interim speaker", "McHenry was named speaker"), not qualified by another owner ("Hawthorn
    coach Bec Goddard" is not Richmond's coach); the role without a name beside it names no holder ("an urgent
    probe by Australia's information commissioner"). A role with no owner written beside it belongs to the
    organisation the sentence opens with, when it opens with one (`subject`): "The Wild have relieved head coach
    Dean Evason" is not about the Predators' coach."""
    said = _role_pattern(role)
    qualifier = rf"(?P<owner>(?:{_CAPITALISED_WORD}(?:['’]s)?\s+){{1,3}})?"
    of_owner = rf"(?:\s+(?:of|at|for)\s+(?:the\s+)?(?P<of>{_CAPITALISED_WORD}(?:\s+{_CAPITALISED_WORD}){{0,3}}))?"
    found: list[tuple[str, set[str]]] = []
    for person in people:
        for named in re.finditer(re.escape(person), text):
            before, after = text[: named.start()], text[named.end() :]
            # "<owner> <role>[ of <owner>][,] [title] <name>", "<owner>'s <role> is <name>", up to two capitalised
            # role words between ("Chief Science Officer Ilya Sutskever").
            lead = re.search(rf"{qualifier}{said}(?:-[\w-]+)?(?:\s+[A-Z][a-z]+){{0,2}}{of_owner}(?:\s+(?:is|was|has been|will be))?\s*,?\s+{_TITLE}?$", before)
            # "<name>, [the|its] ... <role>[ of <owner>]", "<name> is / was named / became [the] ... <role>"
            trail = re.match(
                rf"(?:['’]s)?(?:\s*,\s+|\s+(?:is|was|as|became|becomes|has been|had been|was named|is named|named|will be)\s+)"
                rf"(?:the\s+|its\s+|his\s+|her\s+|their\s+|a\s+|an\s+)?{qualifier}(?:[a-z][\w-]*\s+){{0,3}}?{said}{of_owner}",
                after,
            )
            for match, context in ((lead, before[: lead.start()] if lead else ""), (trail, "")):
                written = ((match.group("owner") or "") + " " + (match.group("of") or "")).strip() if match else ""
                if match and not written and subject and subject not in person and not _subject_owns(subject, owner):
                    continue
                if match and _owned_by(written, owner):
                    # The words said of the holding: those of the match and the two before it ("Current interim head").
                    found.append((person, {w.lower() for w in WORD.findall(" ".join(context.split()[-2:]) + " " + match.group(0))}))
    return found


def _subject_owns(subject: str, owner: str) -> bool:
    """Whether the sentence's opening organisation is the owner asked about, by its words or as its initials
    ("USWNT" for the U.S. women's national team)."""
    initials = iter(_initials(re.sub(r"['’]s\b", "", owner)).upper())
    return _owned_by(subject, owner) or (subject.isupper() and subject[0] == next(initials, "") and all(letter in initials for letter in subject[1:]))


# How a holding is qualified: a question about who holds a role now is not answered by a former holder, nor one
# about the new holder by the interim or current one.
_PAST = {"former", "ex", "outgoing", "previous", "late", "erstwhile", "fired", "sacked", "ousted", "dismissed", "relieved", "axed"}
_NEW = {"new", "incoming", "next", "designate"}
_NOT_NEW = _PAST | {"interim", "acting", "current", "caretaker", "incumbent"}


def leads_for(question: str, said: set[str]) -> bool:
    """Whether a holding said with the words `said` answers who holds the role as the question asks it."""
    asked = {w.lower() for w in WORD.findall(question)}
    if said & _PAST and not asked & _PAST and not asked & {"was", "were"}:
        return False
    return not (asked & _NEW and said & _NOT_NEW)


def role_holders(texts: list[str], role: str, question: str, owner: str) -> list[tuple[bool, str]]:
    """For each text, whether it names someone the question does not as holding `role` for `owner` (see
    `names_holder`), and the holder it names who may lead the answer (`leads_for`), or ""; without the
    named-entity recogniser, whether it names the role and someone new."""
    people = entities.spans(texts, "who")
    if people is None:
        return [(held, "") for held in (holds_role(t, role) and holds_kind(t, "who", question) for t in texts)]
    organisations, places = entities.spans(texts, "organisation"), entities.spans(texts, "where")
    out = []
    for text, names, found, where in zip(texts, people, organisations, places):
        # The recogniser misses some names ("her co-defendant Jodi Hildebrandt"): two capitalised words count too.
        new = [p for p in dict.fromkeys(names + _TWO_CAPITALISED.findall(text)) if not mentions(question, p)]
        holdings = names_holder(text, role, new, owner, opening_subject(text, found + where))
        out.append((bool(holdings), next((person for person, said in holdings if leads_for(question, said)), "")))
    return out
