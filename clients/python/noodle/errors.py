"""Named errors: one class per error name the daemon answers with.

The daemon answers a failure as ``{"error": {"name": ..., "message": ...}}``;
the client raises the class of that name (all subclasses of NoodleError), so
``except noodle.ServiceNotFoundError`` reads like the CLI's messages. A name
this version does not know is raised as NoodleError with ``.name`` set.
``TimeoutError`` and ``ModuleNotFoundError`` are the daemon's: inside this
package they shadow Python's builtins of the same names, so reach them as
``noodle.TimeoutError`` and ``noodle.ModuleNotFoundError``.
"""
from typing import Dict, Optional, Type


class NoodleError(Exception):
    """A failure the daemon (or the client) reports, by name."""

    name: str = "NoodleError"

    def __init__(self, message: str, *, name: Optional[str] = None, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        if name is not None:
            self.name = name
        self.status = status

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


class DaemonNotRunningError(NoodleError):
    """Nothing answers on the daemon's socket (or TCP address)."""

    name = "DaemonNotRunningError"


class RepoInUseError(NoodleError):  # noqa: A001
    name = "RepoInUseError"


class RepoExistsError(NoodleError):  # noqa: A001
    name = "RepoExistsError"


class KeyFileError(NoodleError):  # noqa: A001
    name = "KeyFileError"


class InvalidMultiaddrError(NoodleError):  # noqa: A001
    name = "InvalidMultiaddrError"


class InvalidRequestError(NoodleError):  # noqa: A001
    name = "InvalidRequestError"


class PayloadTooLargeError(NoodleError):  # noqa: A001
    name = "PayloadTooLargeError"


class NotFoundError(NoodleError):  # noqa: A001
    name = "NotFoundError"


class MethodNotAllowedError(NoodleError):  # noqa: A001
    name = "MethodNotAllowedError"


class DialFailedError(NoodleError):  # noqa: A001
    name = "DialFailedError"


class TimeoutError(NoodleError):  # noqa: A001
    name = "TimeoutError"


class MemberNotFoundError(NoodleError):  # noqa: A001
    name = "MemberNotFoundError"


class InvalidLabelError(NoodleError):  # noqa: A001
    name = "InvalidLabelError"


class ServiceNotFoundError(NoodleError):  # noqa: A001
    name = "ServiceNotFoundError"


class InvalidServiceSpecError(NoodleError):  # noqa: A001
    name = "InvalidServiceSpecError"


class InvalidRegistrationError(NoodleError):  # noqa: A001
    name = "InvalidRegistrationError"


class ConflictError(NoodleError):  # noqa: A001
    name = "ConflictError"


class DeadlineExceededError(NoodleError):  # noqa: A001
    name = "DeadlineExceededError"


class NoInstanceError(NoodleError):  # noqa: A001
    name = "NoInstanceError"


class InstanceUnreachableError(NoodleError):  # noqa: A001
    name = "InstanceUnreachableError"


class NoHandlerError(NoodleError):  # noqa: A001
    name = "NoHandlerError"


class ServiceNotReadyError(NoodleError):  # noqa: A001
    name = "ServiceNotReadyError"


class ServiceEndpointError(NoodleError):  # noqa: A001
    name = "ServiceEndpointError"


class InvalidManifestError(NoodleError):  # noqa: A001
    name = "InvalidManifestError"


class ModuleNotFoundError(NoodleError):  # noqa: A001
    name = "ModuleNotFoundError"


class DependencyError(NoodleError):  # noqa: A001
    name = "DependencyError"


class BlockVerificationError(NoodleError):  # noqa: A001
    name = "BlockVerificationError"


class BlockUnavailableError(NoodleError):  # noqa: A001
    name = "BlockUnavailableError"


class ModuleLimitError(NoodleError):  # noqa: A001
    name = "ModuleLimitError"


class ModuleTimeoutError(NoodleError):  # noqa: A001
    name = "ModuleTimeoutError"


class ModuleTrapError(NoodleError):  # noqa: A001
    name = "ModuleTrapError"


class CapabilityDeniedError(NoodleError):  # noqa: A001
    name = "CapabilityDeniedError"


class InvalidTokenError(NoodleError):  # noqa: A001
    name = "InvalidTokenError"


class MalformedMessageError(NoodleError):  # noqa: A001
    name = "MalformedMessageError"


class UntrustedModuleError(NoodleError):  # noqa: A001
    name = "UntrustedModuleError"


class UnauthorizedError(NoodleError):  # noqa: A001
    name = "UnauthorizedError"


class UnauthenticatedError(NoodleError):  # noqa: A001
    name = "UnauthenticatedError"


class RdfSyntaxError(NoodleError):  # noqa: A001
    name = "RdfSyntaxError"


class SparqlSyntaxError(NoodleError):  # noqa: A001
    name = "SparqlSyntaxError"


class QueryTimeoutError(NoodleError):  # noqa: A001
    name = "QueryTimeoutError"


class GraphCorruptError(NoodleError):  # noqa: A001
    name = "GraphCorruptError"


class GraphNotFoundError(NoodleError):  # noqa: A001
    name = "GraphNotFoundError"


class GraphUnavailableError(NoodleError):  # noqa: A001
    name = "GraphUnavailableError"


class AnalyzerError(NoodleError):  # noqa: A001
    name = "AnalyzerError"


#: every named error class, by the daemon's name for it
ERRORS: Dict[str, Type[NoodleError]] = {cls.name: cls for cls in [NoodleError, DaemonNotRunningError, RepoInUseError, RepoExistsError, KeyFileError, InvalidMultiaddrError, InvalidRequestError, PayloadTooLargeError, NotFoundError, MethodNotAllowedError, DialFailedError, TimeoutError, MemberNotFoundError, InvalidLabelError, ServiceNotFoundError, InvalidServiceSpecError, InvalidRegistrationError, ConflictError, DeadlineExceededError, NoInstanceError, InstanceUnreachableError, NoHandlerError, ServiceNotReadyError, ServiceEndpointError, InvalidManifestError, ModuleNotFoundError, DependencyError, BlockVerificationError, BlockUnavailableError, ModuleLimitError, ModuleTimeoutError, ModuleTrapError, CapabilityDeniedError, InvalidTokenError, MalformedMessageError, UntrustedModuleError, UnauthorizedError, UnauthenticatedError, RdfSyntaxError, SparqlSyntaxError, QueryTimeoutError, GraphCorruptError, GraphNotFoundError, GraphUnavailableError, AnalyzerError]}


def error_for(name: str, message: str, status: Optional[int] = None) -> NoodleError:
    """The exception for an error the daemon (or a service) answered with."""
    cls = ERRORS.get(name)
    if cls is None:
        return NoodleError(message, name=name, status=status)
    return cls(message, status=status)

__all__ = [*ERRORS, "ERRORS", "error_for"]
