"""Exceptions the library raises; only the CLI turns them into exit codes and hints."""

from __future__ import annotations


class SubsidyError(Exception):
    """A problem that stops a run; the message says what happened and how to fix it."""

    exit_code = 1


class RosterError(SubsidyError):
    """The roster cannot be read, or lacks a required column."""

    exit_code = 3


class ForeignRosterError(RosterError):
    """Most accepted rows of the roster have another county's 户籍 code."""


class ConfigError(SubsidyError):
    """A county config or schema file is invalid."""

    exit_code = 4


class RunExistsError(SubsidyError):
    """The period already has an accepted run."""

    exit_code = 5


class NoRuleInForceError(SubsidyError):
    """No rule of the county is in force for the period."""

    exit_code = 6


class ReconciliationError(SubsidyError):
    """Totals of the outputs disagree; nothing is accepted."""

    exit_code = 7


class RunLockedError(SubsidyError):
    """Another run of the same county and period holds the lock."""

    exit_code = 8


class VerifyError(SubsidyError):
    """A stored run does not reproduce."""

    exit_code = 9
