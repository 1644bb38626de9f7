"""Every Python example of the README and docs/ runs as written.

The pages mark their blocks with HTML comments on the line before the fence:

- ``<!-- continues -->``: the block runs in the namespace of the block before it
  on the same page (it uses names that block defined). Any other Python block
  runs alone, in a fresh namespace.
- ``<!-- file: NAME -->`` before a TOML (or other) block: the block is a file the
  examples read; it is written as ``NAME`` before the page's blocks run.
- ``<!-- test: scaled F -->``: the block loads big presets; the test runs it with
  every preset scaled to the fraction ``F`` of its size (``Scenario.scaled``).
  The page's prose gives the figures and run time at full size.
- ``<!-- not-run: REASON -->``: the block needs what a test cannot have (a Dask
  scheduler on another machine); REASON says what.

Signatures and other listings are fenced as ``text``, not ``python``. The blocks
of one page run in order, in one temporary folder, as a reader pasting them one
after another would run them; the folder is fresh for each page.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])

_FENCE = re.compile(r"^(```+)\s*([\w+-]*)\s*$")
_MARK = re.compile(r"^<!--\s*(continues|file:\s*\S+|test:\s*scaled\s+\S+|not-run:.*?)\s*-->\s*$")


@dataclass
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    marks: list[str] = field(default_factory=list)

    def mark(self, name: str) -> str | None:
        for m in self.marks:
            if m == name or m.startswith(name + ":"):
                return m[len(name) + 1 :].strip() if ":" in m else ""
        return None

    @property
    def where(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page.name
        return f"{page}:{self.line}"


def blocks(page: Path) -> Iterator[Block]:
    """The fenced blocks of ``page`` with the marks on the lines just before each."""
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang = m.group(1), m.group(2)
        marks = []
        k = i - 1
        while k >= 0 and _MARK.match(lines[k]):
            marks.insert(0, _MARK.match(lines[k]).group(1))  # type: ignore[union-attr]
            k -= 1
        end = i + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        yield Block(page, i + 1, lang, "\n".join(lines[i + 1 : end]) + "\n", marks)
        i = end + 1


def _chains(page: Path) -> list[list[Block]]:
    """The page's Python blocks, grouped: a block and the continuations after it."""
    chains: list[list[Block]] = []
    for b in blocks(page):
        if b.lang != "python":
            continue
        if b.mark("continues") is not None:
            assert chains, f"{b.where}: marked as continuing, but no Python block comes before"
            chains[-1].append(b)
        else:
            chains.append([b])
    return chains


def _pages_with_python() -> list[Path]:
    return [p for p in PAGES if any(b.lang == "python" for b in blocks(p))]


def _scaled_presets(monkeypatch: pytest.MonkeyPatch, fraction: float) -> None:
    import deleverage.scenarios as presets

    load = presets.load_preset

    def scaled(name: str) -> Any:
        return load(name).scaled(fraction)

    monkeypatch.setattr(presets, "load_preset", scaled)


def _run_page(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    for b in blocks(page):
        name = b.mark("file")
        if name is not None:
            (tmp_path / name).write_text(b.code, encoding="utf-8")
    counts = {"run": 0, "not-run": 0}
    for chain in _chains(page):
        namespace: dict[str, Any] = {"__name__": "__main__"}
        for b in chain:
            reason = b.mark("not-run")
            if reason is not None:
                assert reason, f"{b.where}: not-run needs a reason"
                compile(b.code, b.where, "exec")  # still valid Python
                counts["not-run"] += 1
                continue
            with monkeypatch.context() as m:
                scale = b.mark("test")
                if scale is not None:
                    _scaled_presets(m, float(scale.removeprefix("scaled").strip()))
                try:
                    exec(compile(b.code, b.where, "exec"), namespace)
                except Exception as e:
                    raise AssertionError(f"{b.where}: {type(e).__name__}: {e}") from e
            counts["run"] += 1
    return counts


@pytest.mark.parametrize("page", _pages_with_python(), ids=lambda p: p.name)
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["example"])
    monkeypatch.setenv("MPLBACKEND", "Agg")
    counts = _run_page(page, tmp_path, monkeypatch)
    assert counts["run"] >= 1


def test_python_blocks_are_python_and_marks_are_known() -> None:
    """A block fenced as python compiles (a signature is fenced as text), and every
    HTML comment just before a fence is a known mark."""
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").splitlines()
        for b in blocks(page):
            before = lines[b.line - 2] if b.line >= 2 else ""
            if before.startswith("<!--") and not before.startswith("<!-- test-command"):
                assert _MARK.match(before), f"{b.where}: unknown mark {before!r}"
            if b.lang == "python":
                compile(b.code, b.where, "exec")


def test_the_runner_finds_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner fails a block that fails alone, and a continuation sees the names of
    the block before it (the oracle: a page written for the test)."""
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nx = 2\n```\n\n<!-- continues -->\n```python\nassert x == 2\n```\n\n"
        "<!-- file: data.txt -->\n```text\nhello\n```\n\n"
        "```python\nassert open('data.txt').read() == 'hello\\n'\n```\n",
        encoding="utf-8",
    )
    assert _run_page(page, tmp_path, monkeypatch) == {"run": 3, "not-run": 0}
    page.write_text("```python\nx = 2\n```\n\n```python\nprint(x)\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match=r"page\.md:5: NameError"):
        _run_page(page, tmp_path, monkeypatch)


def test_every_page_block_is_counted() -> None:
    """The README and docs hold Python examples, and every one is run or says why not."""
    total = not_run = 0
    for page in PAGES:
        for b in blocks(page):
            if b.lang == "python":
                total += 1
                not_run += b.mark("not-run") is not None
    assert total >= 18
    assert not_run <= 2, "examples that are not run should be rare"


def _command_lines() -> list[tuple[str, list[str]]]:
    """The ``deleverage ...`` commands of the pages' shell blocks (continuations joined,
    comments dropped; usage lines with ``[optional]`` parts left out)."""
    import shlex

    found = []
    for page in PAGES:
        for b in blocks(page):
            if b.lang not in ("bash", "sh", "console"):
                continue
            text = b.code.replace("\\\n", " ")
            for line in text.splitlines():
                for part in line.split("&&"):
                    words = shlex.split(part, comments=True)
                    if words[:1] == ["deleverage"] and not any("[" in w for w in words):
                        found.append((f"{b.where}: {part.strip()}", words[1:]))
    return found


def test_shell_examples_are_commands_the_cli_accepts() -> None:
    """Every ``deleverage`` command line of the docs parses (the options exist and their
    values are of the right kind); the commands are not run."""
    from deleverage.cli import build_parser

    lines = _command_lines()
    assert len(lines) >= 15
    for where, argv in lines:
        try:
            build_parser().parse_args(argv)
        except SystemExit as e:
            raise AssertionError(f"{where}: refused by the command line") from e
