"""Errors raised by ecomops. Each message says what went wrong and what to do."""


class EcomopsError(Exception):
    """Base class: the CLI prints these without a traceback."""


class ValidationError(EcomopsError):
    """An event failed validation; ``reason`` is precise enough to fix the producer."""

    def __init__(self, reason: str, code: str = "invalid"):
        super().__init__(reason)
        self.reason = reason
        self.code = code


class ConfigError(EcomopsError):
    """A setting or command-line option is wrong."""


class SourceError(EcomopsError):
    """A stream source cannot be opened or read."""


class StateError(EcomopsError):
    """The state directory or database is missing, locked or from another version."""
