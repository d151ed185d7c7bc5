"""Questions before background indexing (index/priority.py): the sync's wait ends when the questions do, and is bounded."""

import threading

from index import priority


def test_a_background_wait_lasts_while_a_question_is_answered_and_ends_with_it():
    waited = threading.Event()
    with priority.answering():
        assert priority.busy()
        waiter = threading.Thread(target=lambda: (priority.yield_to_questions(max_wait=60), waited.set()))
        waiter.start()
        assert not waited.wait(0.3)  # still answering: the sync waits
    assert waited.wait(30)  # the question is answered: the sync goes on
    assert not priority.busy()


def test_the_wait_is_bounded_under_constant_questions():
    with priority.answering():
        priority.yield_to_questions(max_wait=0.05)  # returns although a question is still in flight
        assert priority.busy()


def test_an_idle_app_does_not_make_the_sync_wait():
    assert priority.yield_to_questions(max_wait=60) < 60
