"""opsctl: a command-line ops toolkit for SREs."""

__version__ = "0.1.0"
