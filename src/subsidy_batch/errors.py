"""Exceptions the library raises; only the CLI turns them into exit codes and hints (cli.EXIT_CODES)."""

from __future__ import annotations


class SubsidyError(Exception):
    """A problem that stops a run; the message says what happened and how to fix it."""


class UsageError(SubsidyError):
    """An argument is malformed (a period that is not YYYY-MM, a file of the wrong kind)."""


class RosterError(SubsidyError):
    """The roster cannot be read, or lacks a required column."""


class ForeignRosterError(RosterError):
    """Most accepted rows of the roster have another county's 户籍 code."""


class DeathListError(SubsidyError):
    """The death list (run --deaths FILE) is missing, cannot be read, or lacks a required column."""


class ConfigError(SubsidyError):
    """A county config or schema file is invalid."""


class RunExistsError(SubsidyError):
    """The period already has an accepted run."""


class NoRuleInForceError(SubsidyError):
    """No rule of the county is in force for the period."""


class ReconciliationError(SubsidyError):
    """Totals of the outputs disagree; nothing is accepted."""


class RunLockedError(SubsidyError):
    """Another run of the same county and period holds the lock."""


class VerifyError(SubsidyError):
    """A stored run does not reproduce."""


class StorageError(SubsidyError):
    """The runs folder (or another file the run writes) cannot be written: permissions, a full disk."""


class BankFileError(SubsidyError):
    """A bank file cannot be read back as the layout it should have."""


class ReturnsError(SubsidyError):
    """A bank result file does not answer the run's batch exactly (another batch, a duplicate import, a
    total that does not add up); nothing is recorded."""


class InternalError(SubsidyError):
    """A check of the program on itself failed (a bug); nothing was accepted."""
