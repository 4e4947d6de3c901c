"""Errors that describe bad input; the CLI prints them as one line, without a traceback."""

from __future__ import annotations


class SeqaeError(Exception):
    """A problem with the user's input or files, reported as a one-line message."""


class InputError(SeqaeError):
    """One input item (an audio file, a manifest row) cannot be used."""
