"""The reference pages render every public docstring: none may carry a raw Sphinx role.

The site (mkdocstrings) shows ``:class:`Success``` as it is written; a cross-reference it
renders is written ``[`Success`][audian_async.bulk.Success]`` (issue 24, item 15). The objects
walked here are the ones ``docs/gen_reference.py`` puts on the reference pages.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterator
from functools import cached_property
from types import ModuleType
from typing import Any

import pytest

from audian_async import AsyncAstradial, AsyncAudian
from audian_async._generated.astradial import models as astradial_models
from audian_async._generated.audian import models as audian_models

SPHINX_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|exc|mod|data|obj|const|ref):`")

# What docs/gen_reference.py documents (its CORE table), by import path.
CORE = [
    "audian_async.AsyncAudian",
    "audian_async.AsyncAstradial",
    "audian_async._errors",
    "audian_async._request_info.RequestInfo",
    "audian_async._request_info.ResponseInfo",
    "audian_async._pagination.AsyncPaginator",
    "audian_async._pagination.Page",
    "audian_async._response.APIResponse",
    "audian_async._types.Timeout",
    "audian_async.events",
    "audian_async.bulk",
    "audian_async.testing",
    "audian_async.integrations.fastapi",
]


def _load(path: str) -> Any:
    try:
        return importlib.import_module(path)
    except ImportError:
        module, _, name = path.rpartition(".")
        return getattr(importlib.import_module(module), name)


def _module_members(module: ModuleType) -> Iterator[Any]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            n
            for n, v in vars(module).items()
            if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__
        ]
    for name in names:
        yield getattr(module, name)


def _class_members(cls: type) -> Iterator[tuple[str, Any]]:
    for name in dir(cls):
        if name.startswith("_"):
            continue
        attribute = inspect.getattr_static(cls, name)
        if isinstance(attribute, property | cached_property):
            yield name, attribute.__doc__ if isinstance(attribute, property) else attribute.func
        elif isinstance(attribute, staticmethod | classmethod):
            yield name, attribute.__func__
        elif inspect.isfunction(attribute) or inspect.isclass(attribute):
            yield name, attribute


def public_docstrings() -> Iterator[tuple[str, str]]:
    """``(where, docstring)`` for every object the reference pages render."""
    roots: list[Any] = [_load(path) for path in CORE]
    for client in (AsyncAudian(api_key="docs"), AsyncAstradial(base_url="http://x", api_key="k")):
        for name in dir(type(client)):
            if isinstance(inspect.getattr_static(client, name), cached_property):
                roots.append(type(getattr(client, name)))
    for models in (audian_models, astradial_models):
        roots += [getattr(models, name) for name in models.__all__]
    seen: set[int] = set()
    for root in roots:
        objects = [root, *(_module_members(root) if inspect.ismodule(root) else ())]
        for obj in objects:
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            where = getattr(obj, "__qualname__", getattr(obj, "__name__", repr(obj)))
            yield where, inspect.getdoc(obj) or ""
            if inspect.isclass(obj) and obj.__module__.startswith("audian_async"):
                for name, member in _class_members(obj):
                    doc = member if isinstance(member, str) else inspect.getdoc(member)
                    yield f"{where}.{name}", doc or ""


def test_the_walk_finds_the_reference_pages_objects() -> None:
    found = dict(public_docstrings())
    assert "Success" in found and "error_response" in found and "AsyncAudian.for_account" in found
    assert len(found) > 500


@pytest.mark.parametrize("kind", ["class", "func", "meth", "exc", "attr"])
def test_the_check_sees_each_role(kind: str) -> None:
    assert SPHINX_ROLE.search(f"see :{kind}:`Thing`")


def test_no_public_docstring_carries_a_raw_sphinx_role() -> None:
    raw = [
        f"{where}: {match.group(0)}{doc[match.end() :].split('`', 1)[0]}`"
        for where, doc in public_docstrings()
        for match in SPHINX_ROLE.finditer(doc)
    ]
    assert raw == []
