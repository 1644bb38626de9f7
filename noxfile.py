"""Developer sessions: ``nox -s tests``, ``nox -s lint``, ``nox -s sanitizers -- -k oracle``.

``nox`` alone runs the default sessions (tests, lint, typecheck, format); the
sanitizer and benchmark sessions build or run for minutes and run when named.
Arguments after ``--`` go to the session's tool.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import nox

nox.needs_version = ">=2024.3.2"
nox.options.sessions = ["tests", "lint", "typecheck", "format"]

DIR = Path(__file__).parent.resolve()
PYTHON_TREES = ["python", "tests", "benchmarks", "examples", "tools", "noxfile.py"]


def listed_tests(name: str) -> list[str]:
    """The tests a sanitizer build runs, listed in tests/NAME (shared with .ci/run)."""
    return [
        line.strip()
        for line in (DIR / "tests" / name).read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


ENGINE_TESTS = listed_tests("engine_tests.txt")
THREAD_TESTS = listed_tests("thread_tests.txt")


def preloaded(session: nox.Session, libs: tuple[str, ...]) -> str:
    """LD_PRELOAD for sanitizer runtimes, which load before the interpreter's first allocation."""
    paths = []
    for lib in libs:
        path = subprocess.run(
            ["c++", f"-print-file-name={lib}"], capture_output=True, text=True, check=True
        ).stdout.strip()
        if "/" not in path:
            session.error(f"{lib}: not found by c++ -print-file-name (got {path!r})")
        paths.append(path)
    return " ".join(paths)


def run_installed(session: nox.Session, tests: list[str], env: dict[str, str]) -> None:
    """pytest on `tests` from a temporary folder: the installed build is imported, not python/."""
    session.chdir(session.create_tmp())
    session.run(
        "python",
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(DIR),
        "-c",
        str(DIR / "pyproject.toml"),
        *[str(DIR / t) for t in tests],
        *session.posargs,
        env=env,
    )


def pinned(name: str) -> str:
    """The requirement for ``name`` in the lint extra of pyproject.toml (one place for the pins)."""
    lint = nox.project.load_toml(DIR / "pyproject.toml")["project"]["optional-dependencies"]["lint"]
    for req in lint:
        if req.split("==")[0].strip() == name:
            return str(req)
    raise LookupError(f"{name}: not pinned in the lint extra")


def cpp_sources() -> list[str]:
    suffixes = {".hpp", ".cpp", ".h", ".cc"}
    return sorted(str(p.relative_to(DIR)) for p in (DIR / "cpp").rglob("*") if p.suffix in suffixes)


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, one worker per core (pass pytest arguments after --)."""
    session.install("-e", ".[test]", "-Cbuild-dir=build/nox-{wheel_tag}")
    session.run("pytest", *(session.posargs or ["-n", "auto", "--dist", "loadscope"]))


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check on the Python trees."""
    session.install(pinned("ruff"))
    session.run("ruff", "check", *PYTHON_TREES)
    session.run("ruff", "format", "--check", *PYTHON_TREES)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on python/deleverage, with the pinned checker and stubs."""
    session.install("-e", ".[lint]", "-Cbuild-dir=build/nox-{wheel_tag}")
    session.run("mypy", "--strict", *session.posargs)


@nox.session(name="format")
def format_cpp(session: nox.Session) -> None:
    """clang-format check of cpp/; ``nox -s format -- --fix`` rewrites the files instead."""
    session.install(pinned("clang-format"))
    if "--fix" in session.posargs:
        session.run("clang-format", "-i", *cpp_sources())
    else:
        session.run("clang-format", "--dry-run", "--Werror", *cpp_sources())


@nox.session(default=False)
def sanitizers(session: nox.Session) -> None:
    """The engine-level tests on an ASan+UBSan build (the CMakePresets.json sanitize preset).

    GCC or Clang on Linux. The sanitizer runtime must load before the
    interpreter's first allocation, hence LD_PRELOAD, and libstdc++ with it, or
    ASan's __cxa_throw interceptor finds nothing to forward to and aborts on the
    first C++ exception. Python's own allocations are not freed at exit, so
    leak detection is off.
    """
    session.install(
        ".[test]",
        "-Ccmake.args=--preset=sanitize",
        "-Ccmake.build-type=RelWithDebInfo",
        "-Cbuild-dir=build/nox-sanitize",
    )
    env = {
        "LD_PRELOAD": preloaded(session, ("libasan.so", "libstdc++.so")),
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1:strict_string_checks=1",
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
        "PYTHONMALLOC": "malloc",
    }
    run_installed(session, ENGINE_TESTS, env)


@nox.session(default=False)
def thread_sanitizer(session: nox.Session) -> None:
    """The threaded tests on a ThreadSanitizer build (the CMakePresets.json thread-sanitize preset).

    GCC or Clang on Linux. The kernels are built without runtime dispatch:
    their ifunc resolvers would run at load, before the sanitizer's runtime is
    up. A data race stops the run.
    """
    session.install(
        ".[test]",
        "-Ccmake.args=--preset=thread-sanitize",
        "-Ccmake.build-type=RelWithDebInfo",
        "-Cbuild-dir=build/nox-thread-sanitize",
    )
    env = {"LD_PRELOAD": preloaded(session, ("libtsan.so",)), "TSAN_OPTIONS": "halt_on_error=1"}
    run_installed(session, THREAD_TESTS, env)


@nox.session(default=False)
def benchmarks(session: nox.Session) -> None:
    """The pytest-benchmark suites in benchmarks/ (rates against an in-run baseline)."""
    session.install("-e", ".[test]", "-Cbuild-dir=build/nox-{wheel_tag}")
    session.run("pytest", "benchmarks", *session.posargs)


if __name__ == "__main__":
    nox.main()
