"""One error hierarchy, so that callers (and the command line, in one place) tell failures apart by class.

    CodesignError
      InputError         bad input: a file, a config, an option, an output path (nothing was written) -> exit 2
      VerificationError  a check ran and failed: a mismatch, a failed simulation or sweep point -> exit 1
      ToolFailure        an external tool is missing, failed or timed out -> exit 3

Input errors are also ``ValueError`` and tool failures ``RuntimeError``, for code that caught those before.
"""

from __future__ import annotations


class CodesignError(Exception):
    """Base of the framework's errors; ``exit_code`` is what the command line returns."""

    exit_code = 1


class InputError(CodesignError, ValueError):
    """Bad input; the message names the file, line, key or option."""

    exit_code = 2


class VerificationError(CodesignError):
    """A verification or a run it depends on failed: hardware differs from the model, a test failed."""

    exit_code = 1


class ToolFailure(CodesignError, RuntimeError):
    """An external tool (simulator, synthesiser, HLS compiler) is missing, failed or timed out."""

    exit_code = 3
