"""Talaia: open platform for public-security management and crime & violence observatories."""

__version__ = "0.1.0"
