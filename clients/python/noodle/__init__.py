"""noodle: the noodled mesh daemon from Python.

- :class:`Client`: the control API (status, members, services, modules, calls,
  knowledge graphs), named errors for every failure.
- :func:`serve` / :class:`Service`: Python functions as a mesh service.
"""
from .client import Client, default_repo
from .errors import *  # noqa: F401,F403 (one class per error name the daemon answers with)
from .errors import ERRORS, DaemonNotRunningError, NoodleError, error_for
from .service import Call, Service, serve

__version__ = "0.1.0"
__all__ = ["Client", "Service", "Call", "serve", "default_repo", "NoodleError", "DaemonNotRunningError", "ERRORS", "error_for"] + [n for n in ERRORS if n not in ("NoodleError", "DaemonNotRunningError")]
