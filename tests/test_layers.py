"""The layers the README promises, read from every module's imports: handlers -> bot -> storage,
the composition root the only part of the core that knows the features, the stand-in for
Slack knowing nothing of the app, and no test leaning on another test module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The composition root and the entry point: the only core modules that may import features.
COMPOSITION = {"bot/app.py", "bot/__main__.py"}
SLACK = ("slack_sdk", "slack_bolt")
# What tests may import from their own folder: shared steps and tools, never a test module.
TEST_KIT = {
    "tests.steps",
    "tests.communities",
    "tests.tcp_proxy",
    "tests.clusters",  # several app processes on one database
    "tests.pages",  # the sandbox's page in a browser
    "tests.installs",  # an app installed into more than one workspace
    "tests.conftest",  # its fixtures' constants and the Cultivate harness
}


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, by its full dotted name (function-level imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def named(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def reaching(path: Path, *packages: str) -> list[str]:
    return sorted(
        m for m in imports_of(path) if any(m == p or m.startswith(f"{p}.") for p in packages)
    )


@pytest.mark.parametrize("path", modules("storage"), ids=named)
def test_storage_knows_nothing_of_the_app_or_slack(path: Path) -> None:
    assert reaching(path, "bot", "handlers", "sandbox", "fakeslack", *SLACK) == []


@pytest.mark.parametrize("path", modules("bot"), ids=named)
def test_the_core_imports_features_only_at_its_composition_root(path: Path) -> None:
    outer = () if named(path) in COMPOSITION else ("handlers", "sandbox")
    assert reaching(path, *outer, "fakeslack", "tests", "bench") == []


@pytest.mark.parametrize("path", modules("handlers"), ids=named)
def test_features_do_not_reach_the_test_kit(path: Path) -> None:
    assert reaching(path, "sandbox", "fakeslack", "tests", "bench") == []


@pytest.mark.parametrize("path", modules("fakeslack"), ids=named)
def test_the_stand_in_for_slack_imports_nothing_of_the_app(path: Path) -> None:
    assert reaching(path, "bot", "handlers", "storage", "sandbox", "tests", "bench") == []


@pytest.mark.parametrize("path", [*modules("tests"), *modules("bench")], ids=named)
def test_no_test_or_benchmark_imports_a_test_module(path: Path) -> None:
    from_tests = {m.rsplit(".", 1)[0] if m.count(".") > 1 else m for m in reaching(path, "tests")}
    assert sorted(from_tests - TEST_KIT - {"tests"}) == []


@pytest.mark.parametrize("path", modules("tests"), ids=named)
def test_no_test_imports_a_benchmark(path: Path) -> None:
    # What tests and benchmarks share (running processes, a large community) lives in
    # sandbox/, so a benchmark can change without a test noticing.
    assert reaching(path, "bench") == []


def functions_in(path: Path) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


@pytest.mark.parametrize("path", modules("handlers"), ids=named)
def test_feature_functions_are_short_and_register_only_wires(path: Path) -> None:
    """A listener is a module-level function that can be imported, tested and read in a
    traceback by its name; `register()` wires them and holds no body of its own."""
    long = [
        f"{f.name} ({f.end_lineno - f.lineno + 1} lines)"
        for f in functions_in(path)
        if (f.end_lineno or f.lineno) - f.lineno + 1 > 80
    ]
    assert long == []
    for register in (f for f in functions_in(path) if f.name == "register"):
        nested = [
            n
            for n in ast.walk(register)
            if n is not register
            and isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        ]
        assert nested == [], f"register() defines {len(nested)} function(s) of its own"


def test_the_rules_see_a_forbidden_import(tmp_path: Path) -> None:
    """The reader finds imports wherever they are written, so the rules above can fail."""
    module = tmp_path / "m.py"
    module.write_text(
        "import slack_sdk\nfrom tests.test_home import open_home\n"
        "def later():\n    from handlers import cop\n",
        encoding="utf-8",
    )
    assert {"slack_sdk", "tests.test_home", "handlers"} <= imports_of(module)
