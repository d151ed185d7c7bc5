"""Errors a person can act on: the message is one line naming the input and what to do."""


class UserError(Exception):
    """Bad input from the user (empty question, unknown outlet, malformed date...)."""
