"""Citation checking as pure functions on text (word overlap only: no model needed)."""

from chatbot.answering import ABSTAIN_TEXT
from chatbot.citations import UNVERIFIED, MarkerRenumberer, check_citations, normalize_markers, overlap_scores

PASSAGES = [
    "Valve said the Steam Deck OLED goes on sale on November 16 for $549. The screen is larger.",
    "Michigan State hired Oregon State coach Jonathan Smith to lead its football program.",
    "Researchers at the University of Michigan reviewed 281 studies from 36 countries on ultraprocessed food.",
]


def test_markers_are_normalized_before_checking():
    assert normalize_markers("It rose. [1] Then fell [2, 3].") == "It rose [1]. Then fell [2][3]."


def test_supported_citation_is_kept():
    checked = check_citations("Michigan State hired Jonathan Smith from Oregon State [2].", PASSAGES)
    assert checked.text == "Michigan State hired Jonathan Smith from Oregon State [2]."
    assert not checked.corrected and not checked.removed and not checked.unverified


def test_wrong_citation_is_corrected_to_the_supporting_passage():
    checked = check_citations("The Steam Deck OLED goes on sale on November 16 [2].", PASSAGES)
    assert checked.text == "The Steam Deck OLED goes on sale on November 16 [1]."
    assert checked.corrected == [("The Steam Deck OLED goes on sale on November 16.", 2, 1)]


def test_marker_to_no_passage_is_corrected_or_dropped():
    checked = check_citations("Researchers reviewed 281 studies from 36 countries [9]. Aliens built the pyramids [9].", PASSAGES)
    assert checked.text == f"Researchers reviewed 281 studies from 36 countries [3]. Aliens built the pyramids {UNVERIFIED}."
    assert checked.unverified == ["Aliens built the pyramids."]


def test_a_wrong_figure_is_not_supported():
    scores = overlap_scores(["Researchers reviewed 500 studies from 12 countries."], PASSAGES)
    right = overlap_scores(["Researchers reviewed 281 studies from 36 countries."], PASSAGES)
    assert scores[0, 2] < 0.5 <= right[0, 2]
    checked = check_citations("Researchers reviewed 500 studies from 12 countries [3].", PASSAGES)
    assert checked.unverified and "[3]" not in checked.text


def test_only_supporting_citations_of_several_are_kept():
    checked = check_citations("Michigan State hired Jonathan Smith [1][2].", PASSAGES)
    assert checked.text == "Michigan State hired Jonathan Smith [2]."
    assert checked.removed == [("Michigan State hired Jonathan Smith.", 1)]


def test_uncited_claim_gets_the_clearly_supporting_citation():
    checked = check_citations("Michigan State hired Jonathan Smith from Oregon State.", PASSAGES)
    assert checked.text.endswith("[2].")


def test_abstention_and_empty_sentences_are_left_alone():
    assert check_citations(ABSTAIN_TEXT, PASSAGES).text == ABSTAIN_TEXT
    checked = check_citations(f"Yes. {ABSTAIN_TEXT}", PASSAGES)
    assert checked.text == f"Yes. {ABSTAIN_TEXT}" and not checked.unverified


def test_streamed_markers_are_renumbered_in_order_of_first_use_across_pieces():
    renumber = MarkerRenumberer()
    pieces = ["It rose [", "3", "]. It fell [1]", "[3]. Done [", "4"]
    shown = "".join(renumber.feed(p) for p in pieces) + renumber.flush()
    assert shown == "It rose [1]. It fell [2][1]. Done [4"
