"""Elderly-care subsidy batch processor."""

__version__ = "0.1.0"
