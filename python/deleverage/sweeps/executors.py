"""Where runs execute: threads (default), any ``concurrent.futures.Executor``, or Dask.

The engine releases the GIL for a whole run, so threads in one process use every
core and cost nothing to start; a process pool or a ``dask.distributed`` cluster
gets the same picklable work items (``task.execute_all`` over a list of
``RunTask``). The sweep only needs three things from an engine, which this
module gives them uniformly: submit a call, wait until any of the submitted
calls is done, and shut down what the sweep itself started.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from deleverage.cpus import usable_cpus

__all__ = [
    "Backend",
    "DaskBackend",
    "FuturesBackend",
    "SchedulerConnectionError",
    "dask_security",
    "make_backend",
    "tls_configured",
]

#: The keyword arguments of ``distributed.security.Security`` a mapping may give.
SECURITY_KEYS = (
    "tls_ca_file",
    "tls_client_cert",
    "tls_client_key",
    "tls_ciphers",
    "tls_min_version",
    "tls_max_version",
    "require_encryption",
)


class SchedulerConnectionError(ConnectionError):
    """The Dask scheduler at ``address`` could not be reached (or refused us)."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"executor: cannot connect to the Dask scheduler at {address!r}: {reason}")
        self.address = address
        self.reason = reason


class Backend:
    """The interface ``sweep`` drives."""

    #: How many calls can run at once (sizes the window of submitted work).
    slots: int = 1
    #: Whether work items cross a process boundary (then runs are sent in chunks).
    remote: bool = False

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def wait_any(self, pending: set[Any]) -> tuple[set[Any], set[Any]]:  # pragma: no cover
        """(done, not done): returns once at least one of ``pending`` is done."""
        raise NotImplementedError

    def cancel(self, pending: Iterable[Any]) -> None:
        for fut in pending:
            fut.cancel()

    def close(self) -> None:
        """Release what the sweep started (an executor or client passed in stays open)."""


class FuturesBackend(Backend):
    """A ``concurrent.futures.Executor`` (threads, processes, or any other)."""

    def __init__(self, executor: cf.Executor, owned: bool) -> None:
        self.executor = executor
        self.owned = owned
        self.remote = not isinstance(executor, cf.ThreadPoolExecutor)
        max_workers = getattr(executor, "_max_workers", None)
        self.slots = (
            max_workers if isinstance(max_workers, int) and max_workers > 0 else usable_cpus()
        )

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        return self.executor.submit(fn, arg)

    def wait_any(self, pending: set[Any]) -> tuple[set[Any], set[Any]]:
        done, not_done = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
        return set(done), set(not_done)

    def close(self) -> None:
        if self.owned:
            self.executor.shutdown(wait=True, cancel_futures=True)


class DaskBackend(Backend):
    """A ``dask.distributed.Client`` (the sweep opens and closes one for an address)."""

    remote = True

    def __init__(self, client: Any, owned: bool) -> None:
        self.client = client
        self.owned = owned
        try:
            threads = sum(int(n) for n in client.nthreads().values())
        except Exception:  # a client still connecting reports no workers yet
            threads = 0
        self.slots = max(threads, 1)

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        # pure=False: two chunks are never the same computation to Dask.
        return self.client.submit(fn, arg, pure=False)

    def wait_any(self, pending: set[Any]) -> tuple[set[Any], set[Any]]:
        from distributed import wait

        done, not_done = wait(list(pending), return_when="FIRST_COMPLETED")
        return set(done), set(not_done)

    def cancel(self, pending: Iterable[Any]) -> None:
        futures = list(pending)
        if futures:
            self.client.cancel(futures)

    def close(self) -> None:
        if self.owned:
            self.client.close()


def _dask_client_class() -> type | None:
    try:
        from distributed import Client
    except ImportError:
        return None
    return Client


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ImportError(
            "executor: a Dask address needs dask.distributed; "
            "install it with pip install 'deleverage[dask]'"
        ) from None
    return distributed


def dask_security(security: Any) -> Any:
    """``security`` as a ``distributed.security.Security``: one already, or a mapping of
    its keyword arguments (``tls_ca_file``, ``tls_client_cert``, ``tls_client_key``: PEM
    file paths; encryption is then required unless ``require_encryption`` says no)."""
    security_class: Any = _distributed().security.Security
    if isinstance(security, security_class):
        return security
    if not isinstance(security, Mapping):
        raise TypeError(
            "security: must be a distributed.security.Security or a mapping of its "
            f"arguments ({', '.join(SECURITY_KEYS)}), got {type(security).__name__}"
        )
    unknown = [k for k in security if k not in SECURITY_KEYS]
    if unknown:
        raise ValueError(
            f"security.{unknown[0]}: unknown key; expected one of {', '.join(SECURITY_KEYS)}"
        )
    for key in ("tls_ca_file", "tls_client_cert", "tls_client_key"):
        path = security.get(key)
        if path is not None and not os.path.isfile(path):
            raise ValueError(f"security.{key}: no such file {str(path)!r}")
    options = dict(security)
    options.setdefault("require_encryption", True)
    return security_class(**options)


def tls_configured() -> bool:
    """Whether Dask's own configuration (``distributed.comm.tls.*``: its YAML files or
    ``DASK_DISTRIBUTED__COMM__TLS__...`` variables) gives a client TLS settings."""
    default: Any = _distributed().security.Security()
    return bool(default.tls_ca_file or default.tls_client_cert)


def _connect(address: Any, security: Any = None) -> Any:
    """A Client on ``address`` (a scheduler address or a cluster object), with
    ``security`` (None: Dask's configured settings)."""
    distributed = _distributed()
    if security is not None:
        security = dask_security(security)
    if isinstance(address, str):
        tls = address.startswith("tls://")
        if tls and security is None and not tls_configured():
            raise ValueError(
                f"security: the address {address!r} is a tls:// address and needs TLS "
                "settings: pass security= (a distributed.security.Security, or "
                "{'tls_ca_file': ..., 'tls_client_cert': ..., 'tls_client_key': ...}) "
                "or set distributed.comm.tls in Dask's configuration"
            )
        if not tls and security is not None and security.require_encryption:
            raise ValueError(
                f"executor: the security settings require encryption, so the scheduler "
                f"address must be a tls:// address, got {address!r}"
            )
    try:
        if security is None:
            return distributed.Client(address)
        return distributed.Client(address, security=security)
    except OSError as err:  # refused, timed out, a failed TLS handshake
        where = address if isinstance(address, str) else repr(address)
        raise SchedulerConnectionError(where, str(err) or type(err).__name__) from err


def make_backend(executor: object, workers: int | None, security: Any = None) -> Backend:
    """The engine for ``sweep(executor=..., workers=..., security=...)``.

    None: a ThreadPoolExecutor of ``workers`` threads (default: the usable CPUs),
    shut down at the end. A ``concurrent.futures.Executor``: used as is. A
    ``dask.distributed.Client``: used as is. A string (a scheduler address such
    as ``tcp://10.0.0.5:8786`` or ``tls://10.0.0.5:8786``) or a Dask cluster
    object: a Client is opened on it, with ``security`` (a
    ``distributed.security.Security``, or a mapping of its arguments such as
    ``tls_ca_file``, ``tls_client_cert``, ``tls_client_key``; None: Dask's own
    configuration), and closed at the end.
    """
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers: must be an integer >= 1, got {workers!r}")
        if executor is not None:
            raise ValueError(
                "workers: only sizes the default thread pool; size the executor you pass "
                "(or the Dask cluster) instead"
            )
    connects = isinstance(executor, str) or hasattr(executor, "scheduler_address")
    client_class = _dask_client_class()
    is_client = client_class is not None and isinstance(executor, client_class)
    if security is not None and (is_client or not connects):
        raise ValueError(
            "security: only used to connect to a Dask scheduler address or cluster; "
            + (
                "a Client passed as executor carries its own"
                if is_client
                else f"the executor is {type(executor).__name__}"
            )
        )
    if executor is None:
        pool = cf.ThreadPoolExecutor(
            workers or usable_cpus(), thread_name_prefix="deleverage-sweep"
        )
        return FuturesBackend(pool, owned=True)
    if isinstance(executor, cf.Executor):
        return FuturesBackend(executor, owned=False)
    if is_client:
        return DaskBackend(executor, owned=False)
    if connects:
        return DaskBackend(_connect(executor, security), owned=True)
    raise TypeError(
        "executor: must be None (threads), a concurrent.futures.Executor, a "
        "dask.distributed.Client, a Dask cluster or a scheduler address string, "
        f"got {type(executor).__name__}"
    )
