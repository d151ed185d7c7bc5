"""Splitting a question that names several outlets into one search per part (chatbot/query.py)."""

from __future__ import annotations

from datetime import date

from chatbot.plan import understand
from chatbot.query import decompose

SOURCES = ["TechCrunch", "The Verge", "Sporting News", "CBSSports.com", "The Independent - Life and Style", "The Independent - Sports"]


def test_a_comparison_becomes_one_part_per_outlet():
    q = ("Does the Sporting News article attribute the Vikings' poor start to Danielle Hunter, while the "
         "CBSSports.com article credits the Vikings' defense for limiting downfield shots?")
    plan = understand(q, SOURCES)
    assert [p.outlets for p in plan.parts] == [["Sporting News"], ["CBSSports.com"]]
    assert "Danielle Hunter" in plan.parts[0].text and "CBSSports" not in plan.parts[0].text
    assert plan.parts[1].text.startswith("CBSSports.com article credits")


def test_the_same_outlet_twice_with_dates_gives_dated_parts():
    q = ("Between the TechCrunch report on Sam Bankman-Fried published on October 6, 2023, and the TechCrunch "
         "report on his defense published on October 7, 2023, was the portrayal consistent?")
    parts = decompose(q, ["TechCrunch"])
    assert [p.outlets for p in parts] == [["TechCrunch"], ["TechCrunch"]]
    assert [p.dates for p in parts] == [[date(2023, 10, 6)], [date(2023, 10, 7)]]


def test_a_shared_alias_names_every_outlet_it_fits_and_a_bare_mention_is_no_part():
    q = "Which company was accused of unfair practices in reports by TechCrunch and The Independent?"
    plan = understand(q, SOURCES)
    assert set(plan.outlets) == {"TechCrunch", "The Independent - Life and Style", "The Independent - Sports"}
    # "The Independent?" alone has nothing to search with: no decomposition.
    assert plan.parts == []


def test_one_mention_is_not_split():
    assert decompose("What did The Verge say about the FTX trial verdict and its aftermath?", ["The Verge"]) == []
