"""Errors that Talaia reports to people as one clear line (the CLI prints them, the API turns
them into RFC 9457 problem+json). Anything else escaping is a bug."""

from __future__ import annotations


class TalaiaError(Exception):
    """An error with a message meant for the user. ``exit_code`` is used by the CLI."""

    exit_code = 1


class UserInputError(TalaiaError):
    """Bad input from the user: a file, a row, a field, an option."""

    exit_code = 2


class NotFoundError(TalaiaError):
    """A named thing (source, batch, area, indicator, ICCS code) does not exist."""

    exit_code = 3


class DataError(TalaiaError):
    """Input data that cannot be accepted as a whole (e.g. a crosswalk with errors)."""

    exit_code = 4


class StoreBusyError(TalaiaError):
    """The store stayed locked by another writer longer than the wait allowed."""

    exit_code = 5
