"""Exceptions of the runtime oracle (torch-free)."""


class OracleUnsupported(Exception):
    """The model cannot be measured in the requested mode; the message is a one-line reason."""
