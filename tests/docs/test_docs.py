"""The documentation is true: every example runs, every option named exists, nothing is said twice.

Each fenced ``python`` or ``bash`` block in README.md and docs/ is executed, in document order (the
README first, then the site's pages in their navigation order), in one scratch folder where
``.venv``, ``tests`` and ``pyproject.toml`` point at this checkout, so later examples may use what
earlier ones wrote (``out.json``, ``.benchmarks``). A block preceded by
``<!-- not-run: REASON -->`` is not executed; the reason is required.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
RUN = {"python", "bash", "sh", "shell", "console"}
NOT_RUN = re.compile(r"<!--\s*not-run:\s*(\S.*?)\s*-->")
FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    lang: str
    code: str
    not_run: str | None

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line} ({self.lang})"


def _nav_pages(nav: object) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [p for v in nav.values() for p in _nav_pages(v)]
    if isinstance(nav, list):
        return [p for v in nav for p in _nav_pages(v)]
    return []


def documents() -> list[Path]:
    """README.md, then every page of the site in navigation order, then any page not in it."""
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    pages = [DOCS / p for p in _nav_pages(config["nav"])]
    rest = sorted(set(DOCS.rglob("*.md")) - set(pages))
    return [ROOT / "README.md", *pages, *rest]


def blocks(path: Path) -> list[Block]:
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, lang, start = match.group(1), match.group(2).lower(), i
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        marker = NOT_RUN.search(before)
        found.append(Block(path, start + 1, lang, "\n".join(body) + "\n",
                           marker.group(1) if marker else None))
        i += 1
    return found


def paragraphs(path: Path) -> list[str]:
    """Prose paragraphs (code blocks and tables left out), whitespace folded."""
    text = re.sub(r"^(`{3,}).*?^\1\s*$", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)
    found = []
    for chunk in re.split(r"\n\s*\n", text):
        lines = [ln for ln in chunk.strip().splitlines() if not ln.lstrip().startswith("|")]
        if len(lines) >= 2:
            found.append(" ".join(" ".join(lines).split()))
    return found


def all_blocks() -> list[Block]:
    return [b for doc in documents() for b in blocks(doc)]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("docs-examples")
    (folder / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    (folder / "tests").symlink_to(ROOT / "tests", target_is_directory=True)
    (folder / "pyproject.toml").symlink_to(ROOT / "pyproject.toml")
    return folder


def _run(block: Block, folder: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["PATH"] = f"{folder / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    if block.lang == "python":
        command = [sys.executable, "-c", block.code]
    else:
        command = ["bash", "-euo", "pipefail", "-c", block.code]
    result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, (
        f"{block} exited {result.returncode}:\n{block.code}\n{result.stdout[-3000:]}\n"
        f"{result.stderr[-3000:]}")


@pytest.mark.slow  # each example is a process; several run the benchmark suite
def test_every_example_runs_or_says_why_not(scratch: Path) -> None:
    """README and docs examples, in order, in one scratch folder; not-run ones carry a reason."""
    runnable = [b for b in all_blocks() if b.lang in RUN]
    assert runnable, "no examples found"
    for block in runnable:
        if block.not_run is None:
            _run(block, scratch)


def test_a_not_run_marker_sits_on_a_runnable_block() -> None:
    for block in all_blocks():
        assert block.not_run is None or block.lang in RUN, f"{block}: not-run on a {block.lang!r} block"


def test_every_option_named_exists() -> None:
    from asrbench.config.table import OPTIONS

    known = {option.flag for option in OPTIONS}
    for doc in documents():
        text = doc.read_text(encoding="utf-8")
        for match in re.finditer(r"--asr-[a-z0-9-]*[a-z0-9]", text):
            line = text.count("\n", 0, match.start()) + 1
            assert match.group() in known, f"{doc.relative_to(ROOT)}:{line}: no option {match.group()}"


def test_no_paragraph_is_said_twice() -> None:
    seen: dict[str, Path] = {}
    for doc in documents():
        for paragraph in paragraphs(doc):
            assert paragraph not in seen, (
                f"said twice, in {seen[paragraph].relative_to(ROOT)} and {doc.relative_to(ROOT)}:\n"
                f"{paragraph[:200]}")
            seen[paragraph] = doc


def test_every_page_is_in_the_navigation() -> None:
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    pages = {DOCS / p for p in _nav_pages(config["nav"])}
    assert set(DOCS.rglob("*.md")) == pages


def test_the_readme_set_up_block_is_the_install_then_the_tests() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Set up\n", 1)[1]
    first = re.search(r"```bash\n(.*?)```", section, flags=re.S)
    assert first is not None
    assert first.group(1).splitlines() == [
        "python3.12 -m venv .venv && .venv/bin/pip install -c requirements.lock -e '.[all,test]'",
        ".venv/bin/pytest -n auto",
    ]
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 160


def test_the_options_reference_is_generated_from_the_table() -> None:
    sys.path.insert(0, str(DOCS))
    try:
        import hooks
    finally:
        sys.path.remove(str(DOCS))
    from asrbench.config.table import OPTIONS

    table = hooks.options_table()
    for option in OPTIONS:
        assert f"`{option.flag}" in table
        assert f"`{option.ini}`" in table
    page = (DOCS / "reference" / "options.md").read_text(encoding="utf-8")
    assert "<!-- options-table -->" in page
    assert "| `--asr-" not in page
    schema = hooks.schema_tables()
    assert "## run" in schema
    assert "`core_hours_per_audio_hour`" in schema


def test_examples_counted() -> None:
    """Most examples run; print the count for the record."""
    runnable = [b for b in all_blocks() if b.lang in RUN]
    executed = [b for b in runnable if b.not_run is None]
    print(f"{len(executed)} examples executed, {len(runnable) - len(executed)} marked not-run")
    assert len(executed) >= 10
