"""The guides' Python snippets compile, and every client attribute they name exists.

The snippets are fragments (they use an ``audian`` or ``astra`` client opened elsewhere), so
they are not run here; the README's examples are (``tests/integration/test_readme.py``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from audian_async import AsyncAstradial, AsyncAudian

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
CLIENT_NAMES = ("audian", "astra")


def snippets() -> list[tuple[str, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for i, match in enumerate(BLOCK.finditer(page.read_text())):
            found.append((f"{page.name}#{i + 1}", match.group(1)))
    return found


def parse(label: str, code: str) -> ast.Module:
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    tree: ast.Module = compile(code, label, "exec", flags=flags)
    compile(tree, label, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)  # semantics too
    return tree


def client_paths(tree: ast.AST) -> Iterator[tuple[str, ...]]:
    """Each longest ``audian.a.b`` / ``astra.a.b`` attribute chain in ``tree``."""
    inner: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
            inner.add(id(node.value))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or id(node) in inner:
            continue
        names: list[str] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            names.append(current.attr)
            current = current.value
        if isinstance(current, ast.Name) and current.id in CLIENT_NAMES:
            yield (current.id, *reversed(names))


def test_the_guides_have_snippets() -> None:
    assert len(snippets()) >= 8


@pytest.mark.parametrize(("label", "code"), snippets(), ids=[s[0] for s in snippets()])
def test_snippet_compiles(label: str, code: str) -> None:
    parse(label, code)


async def test_every_client_attribute_a_snippet_names_exists() -> None:
    checked = 0
    async with (
        AsyncAudian(api_key="docs-key", base_url="http://127.0.0.1:9/v2") as audian,
        AsyncAstradial(base_url="http://127.0.0.1:9", api_key="docs-key") as astra,
    ):
        clients: dict[str, Any] = {"audian": audian, "astra": astra}
        for label, code in snippets():
            for path in client_paths(parse(label, code)):
                target = clients[path[0]]
                for depth, name in enumerate(path[1:], start=1):
                    assert hasattr(target, name), f"{label}: {'.'.join(path[: depth + 1])}"
                    target = getattr(target, name)
                checked += 1
    assert checked >= 10
