"""docs/conformance.md stays true: every rule names code and tests that exist.

The catalogue is read as data (its tables have the columns ID, Level, Requirement,
Source, Code, Tests). A rule fails the check when its id is malformed or repeated,
when it cites no OMA source, when it names no test, or when a named module,
function, test file or test function does not exist. Files are inspected with
``ast`` only: no test module is imported.
"""

from __future__ import annotations

import ast
import functools
import re

import attrs
import pytest
from datapaths import ROOT

CATALOGUE = ROOT / "docs" / "conformance.md"
HEADER = ["ID", "Level", "Requirement", "Source", "Code", "Tests"]
LEVELS = {"MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY", "TOLERANCE"}
ID_RE = re.compile(r"[A-Z]+-\d{2}")
CODE_RE = re.compile(r"`([\w/.-]+\.py):([A-Za-z_][\w.]*)`")
TEST_RE = re.compile(r"`(tests/[\w/.-]+\.py)::([A-Za-z_]\w*)`")
SOURCE_RE = re.compile(r"OMA-(?:TS|SUP)-[\w-]+")


@attrs.frozen
class Rule:
    line: int
    id: str
    level: str
    requirement: str
    source: str
    code: tuple[tuple[str, str], ...]
    tests: tuple[tuple[str, str], ...]
    code_cell: str
    tests_cell: str


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_catalogue(text: str) -> list[Rule]:
    """The rows of every table whose header is :data:`HEADER`."""
    rules: list[Rule] = []
    in_table = False
    for number, line in enumerate(text.splitlines(), 1):
        if not line.startswith("|"):
            in_table = False
            continue
        cells = _cells(line)
        if cells == HEADER:
            in_table = True
            continue
        if not in_table or set("".join(cells)) <= {"-", ":"}:
            continue
        if len(cells) != len(HEADER):
            raise AssertionError(f"conformance.md:{number}: {len(cells)} cells, not 6")
        rule_id, level, requirement, source, code, tests = cells
        rules.append(
            Rule(
                line=number,
                id=rule_id,
                level=level,
                requirement=requirement,
                source=source,
                code=tuple(CODE_RE.findall(code)),
                tests=tuple(TEST_RE.findall(tests)),
                code_cell=code,
                tests_cell=tests,
            )
        )
    return rules


@functools.cache
def _tree(path: str) -> ast.Module:
    return ast.parse((ROOT / path).read_text(encoding="utf-8"), filename=path)


def _defines(path: str, dotted: str) -> bool:
    """Whether module *path* defines *dotted* (``name`` or ``Class.method``)."""
    scope: list[ast.stmt] = _tree(path).body
    for part in dotted.split("."):
        found = next(
            (
                node
                for node in scope
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and node.name == part
            ),
            None,
        )
        if found is None:
            return False
        scope = found.body
    return True


def _test_functions(path: str) -> set[str]:
    return {
        node.name
        for node in _tree(path).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }


RULES = parse_catalogue(CATALOGUE.read_text(encoding="utf-8"))


def test_the_catalogue_has_rules_of_every_area() -> None:
    areas = {rule.id.split("-")[0] for rule in RULES}
    assert {"PKG", "FIN", "SIZE", "LO", "STAT", "ID", "AUTH", "ABT", "ALR", "TOL"} <= areas
    assert len(RULES) >= 50


def check_ids(rules: list[Rule]) -> None:
    seen: dict[str, int] = {}
    for rule in rules:
        assert ID_RE.fullmatch(rule.id), f"line {rule.line}: bad id {rule.id!r}"
        assert rule.id not in seen, f"{rule.id} on lines {seen[rule.id]} and {rule.line}"
        seen[rule.id] = rule.line


def test_ids_are_well_formed_and_unique() -> None:
    check_ids(RULES)


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_rule_is_complete_and_its_references_exist(rule: Rule) -> None:
    assert rule.level in LEVELS, f"{rule.id}: level {rule.level!r}"
    assert rule.requirement, f"{rule.id}: no requirement"
    assert SOURCE_RE.search(rule.source), f"{rule.id}: no OMA document in {rule.source!r}"
    assert rule.code, f"{rule.id}: no code named"
    assert rule.tests, f"{rule.id}: checked by no test"
    # every back-quoted reference in the two cells must have been understood
    assert len(rule.code) == rule.code_cell.count("`") // 2, f"{rule.id}: unreadable code ref"
    assert len(rule.tests) == rule.tests_cell.count("`") // 2, f"{rule.id}: unreadable test ref"
    for path, name in rule.code:
        assert (ROOT / path).is_file(), f"{rule.id}: no module {path}"
        assert _defines(path, name), f"{rule.id}: {path} defines no {name}"
    for path, name in rule.tests:
        assert (ROOT / path).is_file(), f"{rule.id}: no test file {path}"
        assert name in _test_functions(path), f"{rule.id}: {path} has no {name}"


# ---- the checker itself can fail ----------------------------------------------------------

_ROW = (
    "| ID | Level | Requirement | Source | Code | Tests |\n"
    "|---|---|---|---|---|---|\n"
    "| {id} | MUST | A rule. | OMA-TS-DM_Protocol-V1_2_1 §2.1 | `{code}` | {tests} |\n"
)
_GOOD_CODE = "dmproto/session/_packaging.py:assemble"
_GOOD_TEST = "`tests/session/test_session_pair.py::test_multi_message_packages_both_directions`"


def _check(text: str) -> None:
    for rule in parse_catalogue(text):
        test_rule_is_complete_and_its_references_exist(rule)


def test_checker_accepts_a_good_row() -> None:
    _check(_ROW.format(id="PKG-99", code=_GOOD_CODE, tests=_GOOD_TEST))


@pytest.mark.parametrize(
    ("code", "tests"),
    [
        (_GOOD_CODE, ""),  # checked by no test
        (_GOOD_CODE, "`tests/session/test_session_pair.py::test_no_such_test`"),
        (_GOOD_CODE, "`tests/test_no_such_file.py::test_x`"),
        ("dmproto/session/_packaging.py:no_such_function", _GOOD_TEST),
        ("dmproto/session/_core.py:Endpoint.no_such_method", _GOOD_TEST),
        ("dmproto/session/no_such_module.py:assemble", _GOOD_TEST),
    ],
)
def test_checker_refuses_a_bad_reference(code: str, tests: str) -> None:
    with pytest.raises(AssertionError):
        _check(_ROW.format(id="PKG-99", code=code, tests=tests))


def test_checker_refuses_a_repeated_id() -> None:
    row = _ROW.format(id="PKG-99", code=_GOOD_CODE, tests=_GOOD_TEST)
    doubled = parse_catalogue(row + row.split("\n", 2)[2])
    assert [rule.id for rule in doubled] == ["PKG-99", "PKG-99"]
    with pytest.raises(AssertionError):
        check_ids(doubled)
