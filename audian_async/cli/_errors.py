"""The command line's own errors: each is one clear line for the operator, never a traceback."""

from __future__ import annotations

from ._exit import ExitCode

__all__ = ["CliError", "InputFileError", "SetupError"]


class CliError(Exception):
    """An error that ends the command with ``exit_code`` and one message line."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputFileError(CliError):
    """The input (or plan) file cannot be read as a whole: names the file and the line."""

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        where = f"{path}, line {line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


class SetupError(CliError):
    """No credentials, the server unreachable, or the credentials refused."""

    exit_code = ExitCode.SETUP
