"""The extractive answer says what was asked: the lead sentence holds the kind of thing asked for, at most one
more follows, names missing from every passage are said to be missing, an FAQ pair answers its question."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document

from chatbot.answering import ExtractiveAnswerer, finalize
from chatbot.composer import absent_nouns, announces, as_name, counted, holds_kind, is_fragment, mentions
from chatbot.roles import leads_for, names_holder
from chatbot.followup import cited_lead
from chatbot.plan import understand
from chatbot.query import answer_kind, asked_role, role_owner

BRIDGE = (
    "Residents have criticised the plan at several public meetings since the summer. "
    "The Riverton council voted on Tuesday to close the Market Street bridge for repairs. "
    "Mayor Dana Ortiz said the decision to close the Market Street bridge was difficult for the council. "
    "The Market Street bridge will close to traffic on March 3, 2024, and reopen in the autumn. "
    "Repairs to the Market Street bridge are expected to cost $4.2 million, paid from the state roads fund. "
    "The council closed the Market Street bridge because inspectors found cracks in two of its steel supports. "
    "Traffic on Market Street will be diverted through the Elm Road tunnel during the works."
)
SHUFFLED = [  # the same facts in another article, so the best sentence is not simply the first one
    "Shops near the Market Street bridge expect fewer customers while the council repairs the bridge. "
    "Council engineers said the Market Street bridge was built in 1928 and last repaired in 1990.",
]


def docs(*bodies: str) -> list[Document]:
    return [
        Document(page_content=b, metadata={"chunk_id": f"a{n}:0", "article_id": f"a{n}", "title": f"Bridge story {n}", "source": "Riverton Post"}, id=f"a{n}:0")
        for n, b in enumerate(bodies, 1)
    ]


def published(passages: list[Document], when: str) -> None:
    for doc in passages:
        doc.metadata["published_at"] = when


def answer(embeddings, question: str, passages: list[Document]):
    plan = understand(question, ["Riverton Post"])
    return finalize("".join(ExtractiveAnswerer(embeddings).stream(plan, passages)), passages, question)


@pytest.mark.parametrize(
    "question, fact",
    [
        ("Who called the decision to close the Market Street bridge difficult?", "Dana Ortiz"),
        ("When will the Market Street bridge close?", "March 3, 2024"),
        ("How much will the repairs to the Market Street bridge cost?", "$4.2 million"),
        ("Why did the council close the Market Street bridge?", "because inspectors found cracks"),
        ("Where will traffic on Market Street go during the works?", "Elm Road tunnel"),
    ],
)
def test_the_lead_sentence_holds_what_was_asked(embeddings, question, fact):
    result = answer(embeddings, question, docs(BRIDGE, *SHUFFLED))
    assert not result.abstained, result.text
    lead = result.citations[0].sentence
    assert fact in lead, result.text
    assert len(result.text.split(". ")) <= 2 and len(result.text.split()) <= 50, result.text


def test_a_name_missing_from_every_passage_is_said_to_be_missing(embeddings):
    result = answer(embeddings, "What did the council say about the Oak Avenue bridge?", docs(BRIDGE))
    assert result.abstained and result.text == "The indexed articles don't mention Oak Avenue." and not result.citations


def test_a_two_part_question_gets_both_parts(embeddings):
    result = answer(embeddings, "Who called the bridge decision difficult, and how much will the repairs cost?", docs(BRIDGE, *SHUFFLED))
    assert "Dana Ortiz" in result.text and "$4.2 million" in result.text, result.text


def test_a_part_the_articles_do_not_cover_is_said_to_be_missing_and_the_other_is_answered(embeddings):
    names = answer(embeddings, "Who called the bridge decision difficult, and what did the Oak Avenue residents say?", docs(BRIDGE, *SHUFFLED))
    assert "Dana Ortiz" in names.citations[0].sentence and not names.abstained, names.text
    assert names.text.endswith("The indexed articles don't mention Oak Avenue."), names.text
    count = answer(embeddings, "Why did the council close the bridge, and how many workers will repair it?", docs(BRIDGE, *SHUFFLED))
    assert "inspectors found cracks" in count.text and len(count.citations) == 1, count.text
    assert count.text.endswith("As for “how many workers will repair it?”, the indexed articles don't say how many."), count.text
    neither = answer(embeddings, "How many workers will repair the bridge, and how many buses cross it each day?", docs(BRIDGE, *SHUFFLED))
    assert neither.abstained and not neither.citations, neither.text


def test_an_faq_question_is_answered_from_its_pair(embeddings):
    faq = Document(
        page_content="The Market Street bridge is a steel bridge over the Riverton canal, opened in 1928. It carries 9,000 cars a day.",
        metadata={"chunk_id": "f:1", "article_id": "f", "title": "Bridge FAQ", "source": "Riverton Post", "faq_question": "What is the Market Street bridge?"},
        id="f:1",
    )
    result = answer(embeddings, "What is the Market Street bridge?", [*docs(BRIDGE), faq])
    assert result.text.startswith("The Market Street bridge is a steel bridge over the Riverton canal") and result.citations[0].title == "Bridge FAQ"


def test_an_faq_answer_of_one_word_comes_with_the_sentence_that_explains_it(embeddings):
    faq = docs(
        "Will the Market Street bridge reopen this year? Yes. "
        "The council expects the Market Street bridge to reopen to traffic in the autumn, once the steel supports are replaced."
    )
    result = answer(embeddings, "Will the Market Street bridge reopen this year?", faq)
    assert result.text.startswith("Yes. The council expects the Market Street bridge to reopen"), result.text


def test_tables_lists_credits_and_fragments_are_never_quoted():
    for text in [
        "2 | Rare earth minerals are vital for technology, defense, and renewable energy sectors. |",
        "1) Putin’s Stance on Rare Earth Minerals |",
        "Charley Gallay via Getty Images for the festival organisers in Los Angeles.",
        "#cf97 #vamosfire pic.twitter.com/abc123 — Fire fan (@fan) October 3, 2023",
        "referring to the regions of Ukraine under Russian occupation, he said.",
        "What might a U.S.-Russia agreement entail regarding Ukrainian resources?",
        "We are ready to attract foreign partners, he said. “And we will.",
        "TIME-RESTRICTED EATING NO MORE BENEFICIAL THAN CALORIC RESTRICTION IN OBESE PATIENTS, STUDY SAYS",
        "Anker 321 Power Strip $ 15 $ 26 42 % off $ 15 $ 15 $ 26 42 % off This all-in-one 20W USB-C power cube boasts three AC outlets.",
        "Rugby World Cup posted: The last time Cheslin Kolbe played England at a Rugby World Cup... #RWC2023 | #ENGvRSA",
        "Lifestyle Edit email {{ #verifyErrors }} {{ message }} {{ /verifyErrors }} {{ ^verifyErrors }} Something went wrong.",
        "1. “Renaissance: A Film by Beyoncé,” $21 million.",
        "Chemist Moungi Bawendi (left), chemist Louis Brus (middle) and physicist Alexei Ekimov (right) have split the prize.",
    ]:
        assert is_fragment(text), text
    assert not is_fragment("“We are ready to attract foreign partners,” Putin stated, referring to the regions of Ukraine.")
    assert not is_fragment("NASA and the FBI said the UK and EU would join the NATO-led probe in the U.S. next year.")
    assert not is_fragment("The band played its No. 1 hit and the crowd sang along at the C# major chord.")
    assert not is_fragment("The cheapest season ticket in 2023 was $485, but that will jump to $884, an increase of 78.8%.")


def test_a_sentence_that_refers_back_carries_its_subject(embeddings):
    body = (
        "Mayor Dana Ortiz opened the new Riverton library on Saturday morning. "
        "She said the library would stay open until midnight during exam weeks for students."
    )
    result = answer(embeddings, "How late will the library stay open during exam weeks?", docs(body))
    assert result.text.startswith("Mayor Dana Ortiz opened the new Riverton library"), result.text


SUCCESSION = (
    "Changpeng Zhao, the founder of Binance, is stepping down as chief executive after pleading guilty. "
    "Changpeng Zhao said in a post that stepping down as CEO of Binance was the right thing to do. "
    "Richard Teng, formerly head of regional markets, will take over as the new chief executive. "
    "Binance agreed to pay $4.3 billion to settle the charges, the Justice Department said."
)


def test_the_answer_names_someone_the_question_does_not(embeddings):
    # The sentences naming Zhao are the most like the question; the one that answers names another person.
    result = answer(embeddings, "Who will take over as CEO of Binance now that Changpeng Zhao is stepping down?", docs(SUCCESSION))
    assert "Richard Teng" in result.citations[0].sentence, result.text


def test_which_app_is_answered_by_the_sentence_naming_one(embeddings):
    # "Which app/university/hospital ...?" asks for an organisation's name, as "Which company ...?" does.
    apps = (
        "The Cupertino-based tech giant today released an App Store feature that showcases the top iPhone apps of the year, free and paid, as measured by app installs. "
        "Temu, the Chinese e-commerce company whose app is now attracting longer engagement times than Amazon, is Apple's most downloaded free app in the U.S. for 2023."
    )
    result = answer(embeddings, "Which app was Apple's most downloaded free iPhone app in the U.S. in 2023?", docs(apps))
    assert result.citations[0].sentence.startswith("Temu"), result.text


def test_a_year_the_article_was_published_in_is_not_missing(embeddings):
    passages = docs(BRIDGE)
    published(passages, "2023-11-20T09:00:00+00:00")
    result = answer(embeddings, "Why did the council close the Market Street bridge in 2023?", passages)
    assert not result.abstained and "because inspectors found cracks" in result.text, result.text
    result = answer(embeddings, "What did the council decide about the Market Street bridge in 2019?", passages)
    assert result.text == "The indexed articles don't mention 2019.", result.text


def test_one_article_naming_its_protagonist_everywhere_does_not_make_him_the_answer(embeddings):
    # Every passage of the match report names Penaud; "the passages agree" means several articles agree.
    report = [
        "Damian Penaud scored twice as France beat Italy 60-7 in Lyon. Penaud now has 34 tries for France.",
        "Penaud opened the scoring in the second minute. Italy, coached by Kieran Crowley, never recovered after Penaud's try.",
    ]
    passages = [
        Document(page_content=text, metadata={"chunk_id": f"r:{n}", "article_id": "r", "title": "France rout Italy", "source": "Riverton Post"}, id=f"r:{n}")
        for n, text in enumerate(report)
    ]
    result = answer(embeddings, "Who coaches Italy?", passages)
    assert not result.text.startswith("Damian Penaud:"), result.text


@pytest.mark.parametrize(
    "question, article, said",
    [
        (  # a year and an amount of money are not a count of people
            "How many people work at Scalable Capital?",
            "Scalable Capital has raised €60 million in a round led by Balderton. "
            "The Munich company has now raised more than $345 million in total since it was founded in 2014. "
            "Scalable Capital offers savings plans for stocks, funds and bonds across Europe.",
            "The indexed articles don't say how many.",
        ),
        (  # a number without a currency is not a price
            "How much does a Gogoro scooter cost in India?",
            "Gogoro wants to go big in India, the world's biggest two-wheeler market. "
            "In India, 15 million to 20 million new two-wheelers hit the road every year. "
            "Gogoro will launch its battery-swapping scooters in Delhi next year.",
            "The indexed articles don't say how much.",
        ),
    ],
)
def test_a_year_or_an_amount_is_not_a_count_and_a_bare_number_is_not_a_price(embeddings, question, article, said):
    result = answer(embeddings, question, docs(article))
    assert result.text == said, result.text


def test_another_outlets_account_follows_the_lead(embeddings):
    passages = [
        Document(page_content=text, metadata={"chunk_id": f"{n}:0", "article_id": str(n), "title": title, "source": source}, id=f"{n}:0")
        for n, (text, title, source) in enumerate(
            [
                ("The Riverton council closed the Market Street bridge on Tuesday after inspectors found cracks in two steel supports.", "Bridge shut", "Riverton Post"),
                ("Engineers told the council the Market Street bridge was closed because corrosion had weakened its supports.", "Why the bridge closed", "Valley Gazette"),
            ]
        )
    ]
    result = answer(embeddings, "Why was the Market Street bridge closed?", passages)
    assert {c.source for c in result.citations} == {"Riverton Post", "Valley Gazette"}, result.text


def test_a_nearly_as_good_sentence_of_another_passage_follows_the_lead(embeddings):
    # Two articles of one outlet: the second's account is quoted too, cited to its own passage.
    result = answer(
        embeddings,
        "Why was the Market Street bridge closed?",
        docs(
            "The Riverton council closed the Market Street bridge on Tuesday after inspectors found cracks in two steel supports.",
            "Engineers told the council the Market Street bridge was closed because corrosion had weakened its supports.",
        ),
    )
    assert {c.article_id for c in result.citations} == {"a1", "a2"}, result.text


def test_the_lead_holds_the_date_asked_for_even_when_a_sentence_after_it_would(embeddings):
    # The closest sentence only repeats the question; the date comes first, not as an afterthought.
    result = answer(
        embeddings,
        "When will the Market Street bridge reopen?",
        docs(
            "Residents asked the council when the Market Street bridge will reopen to traffic.",
            "The council expects cars to cross the Market Street bridge again on October 14.",
        ),
    )
    assert "October 14" in result.citations[0].sentence, result.text


def test_the_sentence_naming_someone_leads_and_the_closest_one_follows(embeddings):
    result = answer(
        embeddings,
        "Who described the decision to close the Market Street bridge as difficult?",
        docs(
            "The decision to close the Market Street bridge was described as difficult at Tuesday's council meeting.",
            "Mayor Dana Ortiz spoke about the Market Street bridge at the meeting.",
        ),
    )
    assert "Dana Ortiz" in result.citations[0].sentence and len(result.citations) == 2, result.text


def test_how_many_times_is_answered_by_a_number_of_times_not_a_rank():
    question = "How many times was the app downloaded that year?"
    assert not holds_kind("Google's two apps in the top 10 were No. 7 Google Search and No. 8 YouTube.", "count", question)
    assert holds_kind("The app was downloaded 50 million times in its first year.", "count", question)
    assert holds_kind("It was downloaded twice before the store pulled it.", "count", question)


def test_an_ordinal_is_not_a_count():
    assert not holds_kind("We will share the code with a mutually agreed upon 3rd party security firm.", "count")
    assert holds_kind("The app saw over 100,000 downloads in its first 48 hours.", "count")


def test_free_is_a_price_only_when_it_says_what_something_costs():
    question = "What salary will he get in the new role?"
    assert not holds_kind("Ensuring that all AI algorithms are transparent, free from biases, and designed for patients.", "money", question)
    assert not holds_kind("He became a free agent after the season and was free to join any club.", "money", question)
    assert holds_kind("The app is free, and the Pro tier is free of charge for students.", "money", question)


def test_a_number_in_a_designation_is_not_a_count():
    """"F-16 fighter jets" counts no jets: a number joined to letters by a hyphen is part of a name (F-16, COVID-19)."""
    question = "How many jets is Norway giving them?"
    assert not holds_kind("Aid must include F-16 fighter jets, which have been pledged by Norway and Denmark.", "count", question)
    assert holds_kind("Norway will give six F-16 jets, and Denmark 19 jets.", "count", question)
    assert not holds_kind("COVID-19 cases rose in the city.", "count", "How many cases were there?")


def test_a_month_is_a_date_only_when_capitalised_and_this_week_is_a_time():
    question = "When did they get married?"
    assert not holds_kind("It may be over a decade since they ended their marriage.", "when", question)
    assert not holds_kind("Protesters march on the capital as the couple marry.", "when", question)
    assert holds_kind("They married in May 2004, after three months of dating.", "when", question)
    assert holds_kind("He may come in this week or next week to sign the agreement.", "when", "When might he come in to sign it?")


def test_won_is_a_currency_only_after_a_sum():
    question = "How much did the club pay for him?"
    assert not holds_kind("The club reached the semi-finals in 2020, and in 2022 won its first ever trophy.", "money", question)
    assert holds_kind("Samsung will invest 1.5 trillion won in the plant.", "money", question)
    assert holds_kind("Of the 17, 6 won anyway.", "count", "How many of them won?")


def test_a_count_counts_the_thing_asked_about(embeddings):
    article = (
        "Researchers at the Riverton medical school adjusted the feeding schedule of groups of mice so that they only ate "
        "within six-hour windows each day. The mice that fasted showed less memory loss than the others."
    )
    result = answer(embeddings, "How many mice were in the study?", docs(article))
    assert result.text == "The indexed articles don't say how many.", result.text
    counted = answer(embeddings, "How many mice were in the study?", docs(article + " The study followed 40 mice for a year."))
    assert "40 mice" in counted.text, counted.text


def test_no_sentence_is_quoted_twice(embeddings, monkeypatch):
    """The lead refers back ("It ...") and so carries the sentence before it; that sentence, chosen too, is not repeated."""
    from chatbot.composer import Composed, Sentence

    before = "The Riverton gel cached 20 grams of salt per gram of gel."
    lead = Sentence(1, 1, "It absorbed more moisture than previous gels, too.", before)
    second = Sentence(1, 0, before, "")
    answerer = ExtractiveAnswerer(embeddings)
    monkeypatch.setattr(answerer, "compose", lambda plan, passages: Composed([lead, second]))
    text = "".join(answerer.stream(understand("How much salt did the gel hold?", []), docs(before + " " + lead.text)))
    assert text.count("20 grams") == 1, text


def test_a_which_x_question_is_answered_by_the_sentence_naming_an_x(embeddings):
    article = (
        "Eating within a six-hour window could lower the risk of cognitive decline, a study published in the journal Cell Metabolism suggests. "
        "The goal of time-restricted eating is to restore the circadian rhythm that Alzheimer's disrupts, the Riverton researchers said. "
        "Time-restricted eating does not limit calories, which matters for older people with Alzheimer's."
    )
    result = answer(embeddings, "Which journal published the study on time-restricted eating and Alzheimer's?", docs(article))
    assert "Cell Metabolism" in result.citations[0].sentence, result.text


def test_a_follow_up_of_only_small_words_is_answered_from_its_topic(embeddings):
    """"What did he do before that?" holds no content word of its own; its standalone query does."""
    plan = understand("What did he do before that?", ["Riverton Post"], query="What did he do before that? Dana Ortiz Mayor of Riverton")
    article = BRIDGE + " Before she became mayor, Dana Ortiz ran the Riverton Post's city desk for ten years."
    text = "".join(ExtractiveAnswerer(embeddings).stream(plan, docs(article)))
    assert not text.startswith("The indexed articles don't"), text
    assert "".join(ExtractiveAnswerer(embeddings).stream(understand("?!", []), docs(article))) == "The indexed articles don't say."


def test_a_sentence_that_only_announces_why_does_not_answer_why(embeddings):
    """"She revealed why ..." repeats the question; the sentence with the reason answers it."""
    story = docs(
        "Jada Pinkett Smith has revealed why she and her husband Will Smith never signed a prenuptial agreement before getting married. "
        "While discussing her new memoir, Jada said she and Will didn't sign a prenup when they married in 1997 because they knew divorce was not in the cards for them. "
        "The couple have two children together."
    )
    result = answer(embeddings, "Why did Jada Pinkett Smith say she and Will Smith never signed a prenup?", story)
    assert "divorce was not in the cards" in result.citations[0].sentence, result.text
    # "..., which is why ..." gives the reason: it is not an announcement.
    assert announces("Why did the council close the bridge?", "Jada has revealed why she never signed.")
    assert not announces("Why did the council close the bridge?", "Inspectors found cracks, which is why the council closed the bridge.")


def test_a_follow_up_asking_something_new_is_not_answered_by_the_last_answers_lead(embeddings):
    story = docs(
        "Jada Pinkett Smith has opened up about her marriage to Will Smith in her new memoir. "
        "While discussing her memoir, Jada revealed that she and Will didn't sign a prenup when they were married in 1997 because they knew divorce wasn't in the cards for them. "
        "“I feel that was a very real moment for the two of us to look each other in the eyes,” she said. "
        "“And we made that promise to each other without all of the bridal wedding beauty; it was just sitting on a log in his mother's backyard,” she added. "
        "The couple have two children together."
    )
    last = "While discussing her memoir, Jada revealed that she and Will didn't sign a prenup when they were married in 1997 because they knew divorce wasn't in the cards for them [1]."
    question = "Where did they make that promise to each other?"
    query = f"{question} Jada Will Why did Jada Pinkett Smith say she and Will Smith never signed a prenup?"
    asked = understand(question, ["Riverton Post"], query=query)
    asked.followup, asked.said = True, cited_lead(last)
    result = finalize("".join(ExtractiveAnswerer(embeddings).stream(asked, story)), story, query)
    assert "sitting on a log" in result.citations[0].sentence, result.text
    asked.said = ""  # as for an elliptical follow-up ("And before that?"): the last lead may answer again
    again = finalize("".join(ExtractiveAnswerer(embeddings).stream(asked, story)), story, query)
    assert "didn't sign a prenup" in again.citations[0].sentence, again.text


def test_who_is_a_named_person_is_answered_by_what_they_are_not_by_another_name(embeddings):
    passages = docs(
        "Richard Teng, Binance's former global head of regional markets, will be the exchange's new CEO, Changpeng Zhao said on Tuesday.",
        "Manchester United fans sang the name of Erik ten Hag's predecessor during the defeat.",
        "Erik ten Hag said his team must respond quickly after the loss at home.",
    )
    result = answer(embeddings, "Who is Richard Teng?", passages)
    assert result.text.startswith("Richard Teng, Binance's former global head of regional markets"), result.text


def test_which_senator_asks_for_a_person(embeddings):
    passages = docs(
        "Apple's move against the messaging app drew criticism in Washington this week. "
        "Senator Elizabeth Warren said Apple was squashing competition to protect its profits. "
        "The app's developers said they would keep working on a fix."
    )
    assert understand("Which senator criticised Apple?", []).kind == "who"
    result = answer(embeddings, "Which senator criticised Apple?", passages)
    assert "Elizabeth Warren" in result.citations[0].sentence, result.text


ROBOTS = [
    ("Helix Robotics raises $40 million to build warehouse robots in Ohio",
     "Investors include two pension funds and a car maker. The company will use the money to open a factory near "
     "Columbus next year. It employs 120 people."),
    ("Warehouse robot makers race to hire engineers",
     "Several warehouse robot makers are hiring engineers this year, including Helix Robotics and its rivals. "
     "Analysts expect the market for warehouse robots to double by 2030."),
]


def test_a_sentence_is_read_under_its_articles_title(embeddings):
    """"The company will use the money ..." answers a question about Helix Robotics because its article's title
    names Helix; read alone, the other article's sentence naming Helix looked closer."""
    passages = [
        Document(page_content=body, metadata={"chunk_id": f"r{n}:0", "article_id": f"r{n}", "title": title, "source": "Riverton Post"}, id=f"r{n}:0")
        for n, (title, body) in enumerate(ROBOTS, 1)
    ]
    result = answer(embeddings, "What will Helix Robotics do with the money it raised?", passages)
    assert "open a factory near Columbus" in result.citations[0].sentence, result.text


@pytest.mark.parametrize(
    "question, article, fact",
    [
        # "How much time ... spend" asks for a duration: "free" (or any price) does not answer it.
        (
            "How much time do people spend in the Shopwise app compared with Amazon's?",
            "Shopwise, the discount shopping app whose users now stay longer than Amazon's, is the most downloaded free app in Riverton this year. "
            "Data from an analytics firm showed users spending 18 minutes per day in the Shopwise app, compared with 10 minutes in Amazon's.",
            "18 minutes",
        ),
        # "How much did it take in?" asks for money: a count of theaters does not answer it.
        (
            "How much did the concert film take in on its opening weekend in North America?",
            "On its opening weekend the concert film played in 2,539 theaters in North America. "
            "It took first place at the box office with $21 million in ticket sales, according to estimates.",
            "$21 million",
        ),
        (
            "How much prize money comes with the Riverton Prize for chemistry?",
            "The Riverton Prize for chemistry honours three scientists who discovered a new way to make quantum dots. "
            "The committee praised the work as a landmark for the field of chemistry. "
            "The trio will split prize money of 11 million Swedish kronor, or about $1 million.",
            "$1 million",
        ),
    ],
)
def test_how_much_asks_for_money_only_when_the_question_speaks_of_money(embeddings, question, article, fact):
    result = answer(embeddings, question, docs(article))
    assert fact in result.citations[0].sentence, result.text


def test_which_hospital_is_not_answered_by_a_sentence_naming_none(embeddings):
    # No sentence names a hospital (or any organisation): the articles don't say which one.
    article = (
        "Allison Miller caught the flu at 33 and developed sepsis within days. "
        "She spent another two months in the hospital and then had to do weeks of inpatient rehabilitation. "
        "Doctors had to amputate both her legs below the knee to save her life."
    )
    result = answer(embeddings, "Which hospital treated Allison Miller?", docs(article))
    assert result.abstained and "which hospital" in result.text, result.text


PROFILE = (
    "Dana Ortiz spoke to reporters outside the town hall on Tuesday about the bridge. "
    "Residents have praised Dana Ortiz for the bridge plan since the summer. "
    "Dana Ortiz, a former civil engineer, was elected mayor of Riverton in 2019. "
    "The RRA will pay for the repairs, Dana Ortiz said on Tuesday. "
    "The RRA has not said when the tender for the RRA repairs will open. "
    "The works are overseen by the Riverton Roads Authority (RRA), which owns every bridge in the town."
)


@pytest.mark.parametrize(
    "question, described",
    [("Who is Dana Ortiz?", "a former civil engineer"), ("Who's Dana Ortiz?", "a former civil engineer"), ("What is the RRA?", "Riverton Roads Authority (RRA)")],
)
def test_who_is_or_what_is_a_name_is_answered_by_the_sentence_that_says_what_it_is(embeddings, question, described):
    result = answer(embeddings, question, docs(PROFILE))
    assert described in result.citations[0].sentence, result.text


def test_a_unit_written_with_its_number_counts_the_thing_asked_for():
    asked = "How many megapixels does the camera have?"
    assert holds_kind("The camera has been upgraded from 5MP to 12MP. Photos look better.", "count", asked)
    assert not holds_kind("The glasses weigh 49 grams and cost $299.", "count", asked)
    assert holds_kind("The base model has 256 GB of storage.", "count", "How many gigabytes of storage does it have?")


def test_who_holds_a_role_no_sentence_names_is_said_not_to_be_known(embeddings):
    council = docs(BRIDGE, *SHUFFLED)
    unknown = answer(embeddings, "Who is the chief engineer of the Riverton council?", council)
    assert unknown.abstained and unknown.text == "The indexed articles don't say who the chief engineer is.", unknown.text
    profile = "Riverton's mayor is Dana Ortiz, who was elected in 2019 on a promise to fix its bridges."
    named = answer(embeddings, "Who is the mayor of Riverton?", docs(BRIDGE, *SHUFFLED, profile))
    assert "Dana Ortiz" in named.text and not named.abstained, named.text


def test_a_placeholder_glued_to_a_sentence_is_not_quoted(embeddings):
    # A store indexed before ingest dropped it still holds "... Loading The S&P 500 ..." in its passages.
    result = answer(embeddings, "How much did the S&P 500 climb on Monday?", docs("Crude fell on Monday. Loading The S&P 500 climbed 0.8 per cent on Monday to a record."))
    assert "The S&P 500 climbed 0.8 per cent" in result.text and "Loading" not in result.text, result.text


def test_a_role_is_held_by_the_person_named_beside_it_for_the_owner_asked_about(embeddings):
    match = "“Richmond were just absolute beasts,” Hawthorn coach Bec Goddard said after Richmond's win over Hawthorn at Ikon Park."
    other = answer(embeddings, "Who is Richmond's coach?", docs(match))
    assert other.abstained and other.text == "The indexed articles don't say who the coach is.", other.text
    probe = "Senator James Paterson has called for an urgent probe by Australia's information commissioner into the app."
    unnamed = answer(embeddings, "Who is Australia's information commissioner?", docs(probe))
    assert unnamed.abstained, unnamed.text
    cruise = docs(
        "Cruise executives were pressured by GM as the company lost support in other states. "
        "Sources described an all-hands meeting at Cruise earlier in the week that was led by co-founder and CEO Kyle Vogt."
    )
    # With no owner beside the role, it is the organisation the sentence opens with: not the Predators'.
    wild = docs("The Wild have relieved head coach Dean Evason of his duties, the team said after a loss to the Nashville Predators.")
    predators = answer(embeddings, "Who is the Nashville Predators' head coach?", wild)
    assert predators.abstained and predators.text == "The indexed articles don't say who the head coach is.", predators.text
    hayes = names_holder("The USWNT named Emma Hayes as head coach on Tuesday.", "head coach", ["Emma Hayes"], "U.S. women's national soccer team", "USWNT")
    assert hayes and hayes[0][0] == "Emma Hayes"  # the team by its initials
    holder = answer(embeddings, "Who is the CEO of Cruise?", cruise)
    assert not holder.abstained and holder.text.startswith("Sources described") and "Kyle Vogt" in holder.text, holder.text


def test_a_ranking_or_a_part_played_is_not_a_role(embeddings):
    """"Who was the most expensive buy at the auction?" asks for a name, not the holder of an office: it is not
    declined for want of a sentence naming someone "most expensive buy"."""
    assert asked_role("Who was the most expensive buy at the IPL 2024 auction?") == ""
    assert asked_role("Who was United's hero in the win over Chelsea?") == "" and asked_role("Who is the CEO of Expedia?") == "CEO"
    auction = docs(
        "The IPL 2024 auction was held in Dubai on Tuesday. Kolkata Knight Riders broke the bank for Mitchell Starc, "
        "paying Rs 24.75 crore for the Australian fast bowler. Cummins went to Sunrisers Hyderabad for Rs 20.50 crore."
    )
    bought = answer(embeddings, "Who was the most expensive buy at the IPL 2024 auction?", auction)
    assert not bought.abstained and "Starc" in bought.text, bought.text


def test_a_role_question_asks_for_a_name_and_a_former_holder_does_not_lead():
    assert answer_kind("Who is the CEO of Expedia?") == "who" and answer_kind("Who is Kick's CEO?") == "who"
    assert answer_kind("Who is Bill Kenwright?") == "definition"
    assert role_owner("Who is the Premier League's chief executive?") == "Premier League"
    assert role_owner("Who is its chief executive?") == "" and asked_role("Who was the donor for his first one?") == ""
    # Typed in lower case (and given the archive's capitals where it has them), a role question is still one.
    assert asked_role("who is the Diamondbacks' General Manager?") == "general manager"
    assert role_owner("who is maersk's CEO?") == "maersk" and role_owner("Who is the company's chief executive?") == ""
    former = names_holder("Sam Bankman-Fried, former CEO of FTX, went on trial.", "CEO", ["Sam Bankman-Fried"], "FTX")
    assert former and former[0][0] == "Sam Bankman-Fried"
    assert not leads_for("Who is FTX's CEO now?", former[0][1]) and leads_for("Who was FTX's CEO in 2022?", former[0][1])
    assert names_holder("Mozilla CEO Mitchell Baker defended Google.", "CEO", ["Mitchell Baker"], "Expedia") == []
    fired = names_holder("The Wild fired head coach Dean Evason on Monday.", "head coach", ["Dean Evason"], "Wild", "Wild")
    assert fired and not leads_for("Who is the Wild's head coach?", fired[0][1])  # a coach just fired is a former one
    # A football club's manager is also called its coach.
    assert names_holder("Real's coach, Carlo Ancelotti, said it was a solid game.", "manager", ["Carlo Ancelotti"], "Real Madrid")


def test_a_holder_named_under_another_word_for_the_role_answers(embeddings):
    # No passage says "manager", but the sentence naming Real's coach answers who Real Madrid's manager is.
    real = docs(
        "Real Madrid beat Girona 3-0 to go top of LaLiga. "
        "Real’s coach, Carlo Ancelotti, said it was a solid, convincing game and that his side defended well."
    )
    manager = answer(embeddings, "Who is Real Madrid's manager?", real)
    assert not manager.abstained and "Carlo Ancelotti" in manager.text, manager.text


def test_a_question_about_something_no_passage_mentions_is_not_answered_with_the_topic(embeddings):
    council = docs(BRIDGE, *SHUFFLED)
    plan = understand("Where will the mayor's funeral be held?", ["Riverton Post"])
    plan.query = f"{plan.question} Riverton council Market Street bridge"
    funeral = finalize("".join(ExtractiveAnswerer(embeddings).stream(plan, council)), council, plan.question)
    assert funeral.abstained and funeral.text == "The indexed articles don't say where.", funeral.text
    plan = understand("Which law firm is defending it?", ["Riverton Post"])
    plan.query = f"{plan.question} Riverton council Market Street bridge"
    result = finalize("".join(ExtractiveAnswerer(embeddings).stream(plan, council)), council, plan.question)
    assert result.abstained and result.text == "The indexed articles don't say which law firm.", result.text
    # The same kind of follow-up about something the passages do speak of is answered.
    plan = understand("Which fund pays for the repairs?", ["Riverton Post"])
    plan.query = f"{plan.question} Riverton council Market Street bridge"
    paid = finalize("".join(ExtractiveAnswerer(embeddings).stream(plan, council)), council, plan.question)
    assert not paid.abstained and "state roads fund" in paid.text, paid.text


def test_a_lead_related_to_the_question_itself_answers_though_a_noun_is_said_otherwise(embeddings):
    trucks = docs(
        "Tesla's Cybertruck has not been crash tested by US safety regulators. "
        "EV trucks, in particular, are more deadly due to their increased weight from the battery."
    )
    plan = understand("Why are electric pickups like it especially dangerous for pedestrians?", ["Riverton Post"])
    plan.query = f"{plan.question} Are US safety regulators going to crash test Tesla's Cybertruck?"
    why = finalize("".join(ExtractiveAnswerer(embeddings).stream(plan, trucks)), trucks, plan.question)
    assert not why.abstained and "increased weight" in why.text, why.text


def test_a_count_counts_the_head_of_the_words_after_how_many():
    assert counted("How many criminal counts does Sam Bankman-Fried face?") == "count"
    assert counted("How many terror-financing reports a day has the authority received?") == "report"
    assert counted("How many new jobs will the plant create?") == "job" and counted("How many did they sell?") == ""
    assert counted("How many of the sexual assault lawsuits against Uber were consolidated?") == "lawsuit"
    assert counted("How many of the 2023 winners were women?") == "winner" and counted("How many of them came?") == ""
    assert holds_kind("He is on trial for seven counts of wire fraud and conspiracy.", "count", "How many criminal counts does he face?")


def test_how_much_of_a_money_noun_asks_for_an_amount():
    assert answer_kind("How much net income did the biggest shipping lines make in 2021?") == "money"
    assert answer_kind("How much new funding did they raise?") == "money"
    assert answer_kind("How much in penalties is the attorney general seeking?") == "money"
    assert answer_kind("How much time do people spend in it?") == "count"
    # Any form of a money verb: "charging", "selling", "spending".
    assert answer_kind("How much is X charging new users in its anti-bot test?") == "money"
    assert answer_kind("How much are they spending on ads?") == "money"


def test_a_former_holder_is_not_put_first_as_the_answer(embeddings):
    ftx = [
        Document(page_content=body, metadata={"chunk_id": f"f{n}:0", "article_id": f"f{n}", "title": title, "source": "Riverton Post"}, id=f"f{n}:0")
        for n, (title, body) in enumerate([
            ("FTX trial opens", "Sam Bankman-Fried, former CEO of FTX, went on trial in New York on Tuesday. Jurors heard from prosecutors."),
            ("FTX founder in court", "Prosecutors say Sam Bankman-Fried used customer money. Sam Bankman-Fried denies the charges."),
            ("What is left of FTX", "What's left of FTX is now being led by John J. Ray III, who cleaned up Enron. The exchange failed last year."),
        ], 1)
    ]
    result = answer(embeddings, "Who is FTX's chief executive now?", ftx)
    assert not result.abstained and not result.text.startswith("Sam Bankman-Fried:"), result.text


def test_an_answer_says_only_what_its_sentences_say(embeddings):
    # Two articles name Moungi Bawendi, so the passages "agree" on him; the sentence that answers best names Louis
    # Brus. The answer quotes it as written, not under another name ("Moungi Bawendi: The second winner is ...").
    nobel = docs(
        "Three scientists shared the Nobel Prize in chemistry this year. One of those scientists is Moungi Bawendi of MIT. The second winner is chemist Louis Brus.",
        "Moungi Bawendi said he was surprised by the call from Stockholm early on Wednesday morning.",
    )
    published(nobel, "2023-10-04T12:00:00+00:00")
    result = answer(embeddings, "Who won the 2023 Nobel Prize in chemistry?", nobel)
    assert not result.abstained, result.text
    for citation in result.citations:
        assert citation.sentence.rstrip(".") in citation.text, (citation.sentence, result.text)


def test_an_amount_in_another_currency_or_by_its_code_is_an_amount():
    assert holds_kind("He bought Psagot Investment House for NIS 405 million from Altshuler Shaham.", "money")
    assert holds_kind("The venue cost $US2.3 billion to build.", "money")
    assert holds_kind("The deal is worth Rs 500 crore.", "money") and holds_kind("a 405 million shekel deal", "money")
    assert not holds_kind("In 2022 won the cup for the third time.", "money")


def test_a_nationality_or_a_dated_name_is_not_missing_when_said_otherwise(embeddings):
    shoppers = docs("US shoppers spent a record $5.6 billion online on Thanksgiving Day, up 5.5% on last year, Adobe said.")
    spent = answer(embeddings, "How much did Americans spend online on Thanksgiving Day, according to Adobe?", shoppers)
    assert not spent.abstained and "$5.6 billion" in spent.text, spent.text
    cup = docs("Australia beat Finland 2-0 in the Davis Cup semi-final in Malaga to reach the final against Italy.")
    published(cup, "2023-11-25T09:00:00+00:00")
    beaten = answer(embeddings, "Who did Australia beat in the 2023 Davis Cup semi-final?", cup)
    assert not beaten.abstained and "Finland" in beaten.text, beaten.text
    earlier = answer(embeddings, "Who did Australia beat in the 2019 Davis Cup semi-final?", cup)
    assert earlier.text == "The indexed articles don't mention 2019 Davis Cup.", earlier.text


def test_a_heading_without_its_full_stop_is_not_quoted():
    assert is_fragment("Shohei Ohtani news: Latest updates, rumors for MLB free agency")
    assert is_fragment("FINAL: Colorado 27, Arizona State 24")
    assert not is_fragment("Colorado beat Arizona State 27-24 with a field goal in the final seconds.")
    assert not is_fragment("“We are not here to show off,” he said.")


def test_a_label_before_the_wh_word_does_not_decide_what_is_asked():
    assert answer_kind("Switching topics: what happened when scientists fed cavefish a ketogenic diet?") == "what"
    assert answer_kind("Different subject: who won the NASCAR Cup Series championship?") == "who"
    assert answer_kind("What happened when scientists fed cavefish a ketogenic diet?") == "what"


def test_names_joined_by_and_or_a_possessive_are_mentioned_where_each_is(embeddings):
    summit = docs("President Joe Biden will meet Chinese leader Xi Jinping in San Francisco on Wednesday, on the sidelines of the APEC summit.")
    met = answer(embeddings, "Where are Biden and Xi meeting?", summit)
    assert not met.abstained and "San Francisco" in met.text, met.text
    target = docs("Botswana, Eswatini and Rwanda have already hit the 95-95-95 target that the UN set for 2025.")
    hit = answer(embeddings, "Which countries have already reached the UN's 95-95-95 target?", target)
    assert not hit.abstained and "Botswana" in hit.text, hit.text
    assert answer(embeddings, "Where are Biden and Trudeau meeting?", summit).text == "The indexed articles don't mention Biden and Trudeau."


def test_a_role_holder_counts_for_the_owner_another_passage_of_the_article_names(embeddings):
    article = docs(
        "The Riverton council voted on Tuesday to close the Market Street bridge for repairs.",
        "Chief engineer Dana Ortiz, the engineer in charge of the town bridges, said the repairs would take six months.",
    )
    for doc in article:
        doc.metadata["article_id"] = "a1"
    holder = answer(embeddings, "Who is the Riverton council's chief engineer?", article)
    assert not holder.abstained and "Dana Ortiz" in holder.text, holder.text


def test_a_noun_said_as_part_of_a_compound_is_not_absent():
    passages = docs("Rani Zim is stepping down as chairperson of Group Psagot, to be replaced by Daniel Leventhal.")
    assert absent_nouns("Who is taking over from him as chair?", passages) == []
    assert absent_nouns("Where will his funeral be held?", passages) == ["funeral"]



def test_a_span_with_a_possessive_inside_is_not_a_name():
    assert as_name("Ratcliffe’s Manchester United") == "" and as_name("Ratcliffe’s") == "Ratcliffe"
    assert as_name("“Sam Bankman-Fried”") == "Sam Bankman-Fried"


def test_a_name_typed_without_its_accents_is_mentioned_where_it_is_written_with_them():
    assert mentions("His subject was Beyoncé, and the portraits spoke of talent.", "Beyonce")
    assert mentions("Iñigo Quintero topped the chart.", "Inigo Quintero") and not mentions("Iñigo topped the chart.", "Beyonce")


def test_a_sentence_opening_on_and_its_carries_the_sentence_before_it():
    from chatbot.composer import Sentence

    before = "Florida State was robbed."
    assert Sentence(1, 1, "And its head coach didn’t hide his disappointment.", before).context == f"{before} And its head coach didn’t hide his disappointment."
    assert Sentence(1, 1, "Andrew Smith, its coach, said little.", before).context == "Andrew Smith, its coach, said little."


def test_a_question_asking_what_something_is_called_is_answered_by_the_sentence_giving_its_name(embeddings):
    assert answer_kind("What is the CRISPR-based HIV therapy being tested in people called?") == "name"
    assert answer_kind("What's the title of the book he wrote?") == "name"
    assert answer_kind("What's the name of the company that bought iRobot?") == "organisation"
    assert answer_kind("What's the name of the CEO?") == "who"
    therapy = docs(
        "Using CRISPR for HIV gene therapy has shown promise in several test-tube studies, a review notes. "
        "Researchers at the Riverton lab have been testing CRISPR therapies for HIV in people since last year. "
        "The therapy, named EBT-101, uses gene editing to cut the virus out of infected cells."
    )
    called = answer(embeddings, "What is the CRISPR-based HIV therapy being tested in people called?", therapy)
    assert called.text.startswith("The therapy, named EBT-101"), called.text
    album = docs("McLean has released a new album of Christmas songs. “Christmas Memories: Remixed & Remastered” features his take on the classics.")
    assert "Christmas Memories" in answer(embeddings, "What is McLean's new Christmas album called?", album).text


def test_where_someone_is_from_is_answered_by_the_sentence_saying_where_they_were_born(embeddings):
    from chatbot.composer import asks_directly

    assert asks_directly("where's he from originally?", "where") and asks_directly("Where was she born?", "where")
    assert not asks_directly("Where is the final being played?", "where")
    painter = docs(
        "Eventually Vincent settled in the community of Indulkana in the APY lands, started a family and began to paint. "
        "Vincent Namatjira won the Archibald Prize in 2020 with a portrait of Adam Goodes. "
        "Born in Alice Springs in 1983, Vincent was moved to Perth with his sister after their mother's death."
    )
    plan = understand("Where's he from originally?", ["Riverton Post"])
    plan.query = f"{plan.question} Vincent Namatjira Archibald Prize"
    origin = finalize("".join(ExtractiveAnswerer(embeddings).stream(plan, painter)), painter, plan.question)
    assert origin.text.startswith("Born in Alice Springs in 1983"), origin.text


def test_who_did_it_is_answered_by_the_sentence_naming_someone_as_doing_it(embeddings):
    from chatbot.composer import names_doer

    assert names_doer("It was founded in 2000 by Intel programmer Kevin Lewandowski.", "Who founded Discogs?")
    assert names_doer("Omar Marmoush opened their account in the 12th minute.", "Back to the game: who opened the scoring?")
    assert not names_doer("Late Thursday, the Commission sent the company a request.", "Who sent Musk the urgent letter?")
    assert not names_doer("Pilgrims may have stepped on the American cranberry.", "Who invented canned cranberry sauce?")
    discogs = docs(
        "“We had kind of thought Discogs was on our side as sellers,” says Gene Melkisethian, who runs a record store and sells on Discogs. "
        "Discogs, founded in 2000 by Intel programmer Kevin Lewandowski, began as a database of electronic music."
    )
    founded = answer(embeddings, "Who founded Discogs?", discogs)
    assert founded.text.startswith("Discogs, founded in 2000 by Intel programmer Kevin Lewandowski"), founded.text
