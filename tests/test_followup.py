"""Conversations keep their topic: follow-ups are searched with the topic and the last answer's subject, bounded;
a question that opens a topic of its own is searched as in a fresh conversation."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document

from chatbot.composer import by_best_sentence
from chatbot.followup import MAX_QUERY_WORDS, Turn, condense, is_followup, topic_of
from chatbot.query import named_phrases

FIRST = Turn(
    "What share of adults showed signs of addiction to ultra-processed foods?",
    "What share of adults showed signs of addiction to ultra-processed foods?",
    "Researchers reviewed 281 studies from 36 countries, finding that 14% of adults showed signs of addiction [1].",
    ["a1"],
    ["Ultraprocessed foods could be as addictive as cigarettes, study suggests"],
)
SECOND = Turn(
    "Who led the research?",
    "Who led the research? What share of adults showed signs of addiction to ultra-processed foods?",
    "Ashley Gearhardt, a professor of psychology at the University of Michigan, led the review [1].",
    ["a1"],
    ["Ultraprocessed foods could be as addictive as cigarettes, study suggests"],
)


def test_he_after_an_answer_about_a_named_person_searches_that_person():
    query = condense("What did he say about sugar?", [FIRST, SECOND])
    assert query.startswith("What did he say about sugar?") and "Ashley Gearhardt" in query


def test_he_points_at_the_person_the_conversation_is_about_not_one_mentioned_in_passing():
    contract = Turn(
        "How long is Shohei Ohtani's contract with the Dodgers?",
        "How long is Shohei Ohtani's contract with the Dodgers?",
        "Shohei Ohtani agreed to a 10-year, $700 million contract with the Dodgers [1].",
        ["a1"],
        ["Ohtani signs with the Dodgers"],
    )
    record = Turn(
        "Whose record did it break?",
        "Whose record did it break? Shohei Ohtani How long is Shohei Ohtani's contract with the Dodgers?",
        "The deal shatters Mike Trout's record 12-year, $426.5 million contract [1].",
        ["a1"],
        ["Ohtani signs with the Dodgers"],
    )
    query = condense("Why isn't he pitching next season?", [contract, record])
    assert "Shohei Ohtani" in query and "Mike Trout" not in query, query
    # Asked "Who ...?", the conversation is about the person the answer named.
    successor = Turn(
        "Who will take over as CEO of Binance now that Changpeng Zhao is stepping down?",
        "Who will take over as CEO of Binance now that Changpeng Zhao is stepping down?",
        "Richard Teng, formerly head of regional markets, will take over as chief executive [1].",
        ["a2"],
        ["Binance CEO steps down"],
    )
    assert "Richard Teng" in condense("What did he do before that?", [successor])


def test_it_points_at_the_thing_the_first_question_names():
    screen = Turn(
        "How bright is the Steam Deck OLED's screen compared with the original?",
        "How bright is the Steam Deck OLED's screen compared with the original?",
        "The new LCD-free HDR panel reaches a peak brightness of 1,000 nits [1].",
        ["a1"],
        ["Steam Deck OLED review"],
    )
    query = condense("When can people order it?", [screen])
    assert query.startswith("When can people order it? Steam Deck OLED"), query


def test_a_third_turn_carries_the_topic_not_the_second_question():
    query = condense("Where was it published?", [FIRST, SECOND])
    assert "Who led the research" not in query
    assert "ultra-processed" in query and len(query.split()) <= MAX_QUERY_WORDS


def test_a_question_with_names_of_its_own_opens_a_new_topic():
    question = "What did the European Central Bank decide about interest rates at its December meeting in Frankfurt?"
    assert not is_followup(question, [FIRST, SECOND]) and condense(question, [FIRST, SECOND]) == question
    assert is_followup("And what about children?", [FIRST]) and is_followup("Why?", [FIRST])
    assert not is_followup("What did he say?", [])  # a follow-up as the very first question stands alone


def test_going_back_returns_to_the_first_topic():
    other = Turn("Who won the Rugby World Cup final in Paris?", "Who won the Rugby World Cup final in Paris?", "South Africa beat New Zealand 12-11 in the final [1].", ["r1"], ["South Africa win the Rugby World Cup"])
    topic = topic_of([FIRST, SECOND, other], "Going back to the ultra-processed foods study, who was skeptical?")
    assert topic.opened_by == FIRST.question
    assert topic_of([FIRST, SECOND, other], "How many points did they score?").opened_by == other.question


def test_going_back_to_names_no_turn_said_opens_a_topic_of_its_own():
    other = Turn("Who won the Rugby World Cup final in Paris?", "Who won the Rugby World Cup final in Paris?", "South Africa beat New Zealand 12-11 in the final [1].", ["r1"], ["South Africa win the Rugby World Cup"])
    # Nothing said so far names Biden or Xi: searched as asked, not as more about the Rugby World Cup.
    question = "Back to Biden and Xi: where are they meeting?"
    assert not is_followup(question, [FIRST, SECOND, other]) and condense(question, [FIRST, SECOND, other]) == question
    assert is_followup("Back to the ultra-processed foods study: who was skeptical?", [FIRST, SECOND, other])


def test_a_word_capitalised_only_for_opening_the_question_is_not_a_name(seeded_chain):
    # The archive writes "different" in lower case: "Different subject: ..." names no "Different" to say missing.
    plan = seeded_chain.plan("Different subject: what did Putin say about rare earth minerals?")
    assert "Different" not in plan.names and "Putin" in plan.names, plan.names
    assert seeded_chain.retriever.common_word("Different") and not seeded_chain.retriever.common_word("Putin")
    # A label naming nothing is not searched; one naming something is.
    assert seeded_chain.plan("Unrelated question: what did Putin say about rare earth minerals?").query == "what did Putin say about rare earth minerals?"
    assert seeded_chain.plan("Putin and Trump: what did they say about rare earths?").query == "Putin and Trump: what did they say about rare earths?"


def test_a_hundred_turns_stay_bounded():
    history = [Turn(f"What did the council say about road {n}?", f"q{n}", f"Road {n} will close [1].", ["x"], ["Roads"]) for n in range(100)]
    query = condense("And when does it reopen?", history)
    assert len(query.split()) <= MAX_QUERY_WORDS


@pytest.mark.slow
def test_a_new_topic_in_a_used_conversation_gets_the_fresh_answer(seeded_chain):
    first = seeded_chain.ask("What share of adults showed signs of addiction to ultra-processed foods?")
    history = [Turn.after("What share of adults showed signs of addiction to ultra-processed foods?", first)]
    question = "What did Putin say about working with American partners on rare earth minerals?"
    fresh, used = seeded_chain.ask(question), seeded_chain.ask(question, history)
    assert used.query == question
    assert [d.id for d in used.passages] == [d.id for d in fresh.passages] and used.text == fresh.text


def test_only_an_elliptical_and_question_takes_the_last_questions_frame():
    other = Turn("Who won the Rugby World Cup final in Paris?", "Who won the Rugby World Cup final in Paris?", "South Africa beat New Zealand 12-11 in the final [1].", ["r1"], ["South Africa win the Rugby World Cup"])
    asked_in_full = condense("And which dietitian was skeptical of the ultra-processed foods study?", [FIRST, SECOND, other])
    assert "Rugby" not in asked_in_full and "ultra-processed" in asked_in_full
    elliptical = condense("And the semi-final?", [other])
    assert "Who won the Rugby World Cup final in Paris?" in elliptical


@pytest.mark.slow
def test_a_short_question_with_a_term_the_cited_articles_lack_opens_a_new_topic(seeded_chain):
    """Naming nothing new and very short, a question still points away when it holds a term specific to the
    archive (few chunks hold it) that no article cited so far holds."""
    asked = "What share of adults showed signs of addiction to ultra-processed foods?"
    history = [Turn.after(asked, seeded_chain.ask(asked))]
    foreign = seeded_chain.retriever.foreign
    assert is_followup("Which lab made the hydrogel?", history)  # by its shortness alone, it would lean on the topic
    assert not is_followup("Which lab made the hydrogel?", history, foreign)
    assert is_followup("Who led the research?", history, foreign)  # the topic's own kind of question stays in it
    fresh, used = seeded_chain.ask("Which lab made the hydrogel?"), seeded_chain.ask("Which lab made the hydrogel?", history)
    assert used.query == "Which lab made the hydrogel?" and [d.id for d in used.passages] == [d.id for d in fresh.passages]


@pytest.mark.slow
def test_a_follow_up_carries_the_last_answers_lead_unless_it_asks_the_last_question_again(seeded_chain):
    history = [Turn("Who led the research?", "Who led the research?", SECOND.answer, ["a1"], SECOND.cited_titles)]
    assert seeded_chain.plan("Where did she work before that?", history).said == "Ashley Gearhardt, a professor of psychology at the University of Michigan, led the review"
    assert seeded_chain.plan("And for children?", history).said == ""


@pytest.mark.slow
def test_a_follow_up_to_a_question_about_something_the_archive_lacks_says_so_again(seeded_chain):
    asked = "How many people died in the Maui wildfires?"
    first = seeded_chain.ask(asked)
    assert first.abstained and first.text == "The indexed articles don't mention Maui."
    again = seeded_chain.ask("Who is to blame?", [Turn.after(asked, first)])
    assert again.abstained and again.text == "The indexed articles don't mention Maui.", again.text


PUTIN = Turn(
    "Is Putin open to working with American companies?",
    "Is Putin open to working with American companies?",
    "President Vladimir Putin said Russia is ready to work with American firms on rare earth minerals [1].",
    ["seed"],
    ["Putin Signals Willingness to Work with the U.S. on Rare Earth Minerals"],
)
CUP = Turn("Who won the 2022 World Cup?", "Who won the 2022 World Cup?", "The indexed articles don't mention 2022 World Cup.")


def test_he_does_not_point_into_a_topic_the_articles_did_not_answer_and_that_names_no_one():
    """After a question the articles don't cover, "he" is the person of the topic before, and the turns after it
    stay in that topic."""
    asked = "What did he say about the new territories?"
    query = condense(asked, [PUTIN, CUP])
    assert "Putin" in query and "World Cup" not in query, query
    answered = Turn(asked, query, "“As for the new territories, we are ready to attract foreign partners,” Putin stated [1].", ["seed"], PUTIN.cited_titles)
    assert "World Cup" not in condense("How much does Russia earn from them?", [PUTIN, CUP, answered])
    # "it" may well be the World Cup, and so may "he" after a question naming someone
    assert "World Cup" in condense("Where was it held?", [PUTIN, CUP])
    messi = Turn("Did Lionel Messi win the 2022 World Cup?", "Did Lionel Messi win the 2022 World Cup?", "The indexed articles don't mention Lionel Messi.")
    assert "Messi" in condense("What did he say afterwards?", [PUTIN, messi])


@pytest.mark.slow
def test_he_after_an_abstention_is_answered_about_the_person_before(seeded_chain):
    first = seeded_chain.ask(PUTIN.question)
    history = [Turn.after(PUTIN.question, first), Turn.after(CUP.question, seeded_chain.ask(CUP.question))]
    assert history[1].answer == CUP.answer
    answer = seeded_chain.ask("What did he say about the new territories?", history)
    assert not answer.abstained and "territories" in answer.text and "World Cup" not in answer.query, answer.text


def test_a_request_for_more_continues_the_topic():
    """"Tell me more" is a request, not a question about someone called Tell."""
    for request in ("Tell me more", "Explain that", "Give me more details"):
        assert is_followup(request, [FIRST, SECOND]), request
        assert "ultra-processed" in condense(request, [FIRST, SECOND]), request


@pytest.mark.slow
def test_what_else_is_not_answered_by_what_the_topic_said_already(seeded_chain):
    asked = "What did Putin say about American companies?"
    first = seeded_chain.ask(asked)
    history = [Turn.after(asked, first)]
    assert seeded_chain.plan("What else?", history).said.find(first.text.split(" [")[0]) >= 0
    more = seeded_chain.ask("What else?", history)
    assert not more.abstained and more.citations[0].sentence not in first.text, more.text


def test_within_the_topics_articles_the_passage_whose_sentence_answers_comes_first(embeddings):
    """Every passage of an article is searched with its header and the topic's words, so they score alike as
    wholes; a follow-up's passages are reordered by their best sentence ("When will it reopen?" -> the date)."""
    title = "Riverton council closes the Market Street bridge for repairs"
    bodies = [
        "The Riverton council voted on Tuesday to close the Market Street bridge for repairs. Residents have criticised the plan at several public meetings.",
        "The Market Street bridge will reopen in October 2024, once the new supports have been tested under load.",
        "Mayor Dana Ortiz said the decision to close the Market Street bridge was difficult for the council and for the shops on both banks.",
        "Repairs to the Market Street bridge are expected to cost $4.2 million, paid from the state roads fund, the council said.",
        "Traffic will be diverted through the Elm Road tunnel while the works go on, adding ten minutes to bus journeys.",
    ]
    found = [Document(page_content=b, metadata={"article_id": "bridge", "title": title}, id=f"bridge:{n}") for n, b in enumerate(bodies)]
    asks = ["When will it reopen?", "When will it reopen? Why did the Riverton council close the Market Street bridge?"]
    ordered = by_best_sentence(found, asks, embeddings.encode_comparable, rank_weight=0.2)
    assert ordered[0].id == "bridge:1"
    assert sorted(d.id for d in ordered) == sorted(d.id for d in found)
    # the rank as found still counts: with a large weight the order found stands
    assert [d.id for d in by_best_sentence(found, asks, embeddings.encode_comparable, rank_weight=10.0)] == [d.id for d in found]


@pytest.mark.slow
def test_a_name_the_cited_articles_hold_stays_in_the_topic(seeded_chain):
    """A name no turn said, but which the articles cited so far hold, is the topic's own: "Zelenskyy" after an
    answer from the Putin article (which quotes him) continues that topic; a name those articles lack opens one,
    and so does a question whose label says the subject changes."""
    asked = "Is Putin open to working with American companies?"
    history = [Turn.after(asked, seeded_chain.ask(asked))]
    foreign = seeded_chain.retriever.foreign
    question = "What did Volodymyr Zelenskyy propose?"
    assert "Zelenskyy" not in history[0].answer and not is_followup(question, history)  # without the archive: a new name
    assert is_followup(question, history, foreign)
    assert not is_followup("What did the hydrogel researchers at Stanford find?", history, foreign)
    assert not is_followup("Different question: what did Volodymyr Zelenskyy propose?", history, foreign)
    assert seeded_chain.plan(question, history).query != question  # searched with its topic


def test_the_first_one_points_back():
    """"One" after an ordinal or "last", "other" stands for something said before: the question is a follow-up
    however many words it has."""
    festival = Turn("Who is headlining the AfroFuture festival in Ghana?", "Who is headlining the AfroFuture festival in Ghana?", "Davido and J Hus headline this year's AfroFuture festival [1].", ["f1"], ["AfroFuture returns to Accra"])
    assert is_followup("How many people turned up to the very first one?", [festival])
    assert is_followup("When did he score his last one for Norway?", [festival])
    assert not is_followup("How many people turned up to the marathon in the rain?", [festival])


def test_an_also_that_asks_a_question_of_its_own_opens_a_new_topic():
    """"Also," or "And" before a short question naming something else asks the last question again of it; before
    a question of its own with names the conversation never said, it changes the subject."""
    question = "Also, Graham Arnold is about to set a Socceroos coaching record, how many games is that?"
    assert not is_followup(question, [FIRST, SECOND]) and condense(question, [FIRST, SECOND]) == question
    assert is_followup("What about Chelsea?", [FIRST, SECOND]) and is_followup("And for children?", [FIRST, SECOND])


def test_a_negated_auxiliary_opening_the_question_is_not_a_name():
    """"Didn't they ...?" names no "Didn't": the question points back with "they" and stays in the topic. Nor is
    "ok" a name once it takes the archive's capitals ("How big a deficit is he OK with")."""
    assert named_phrases("How big a deficit is he OK with") == [] and named_phrases("Won't Apple fix it?") == ["Apple"]
    question = "Didn't they try to fight it in court? How did that go"
    assert is_followup(question, [FIRST, SECOND])
    assert "ultra-processed" in condense(question, [FIRST, SECOND])
