"""The error for an optional dependency that is not installed: which extra brings it."""

from __future__ import annotations

__all__ = ["missing_extra"]


def missing_extra(
    exc: ImportError, extra: str, feature: str, modules: tuple[str, ...]
) -> ImportError:
    """``exc`` retold as "``feature`` needs the ``extra`` extra" when the module it failed to
    import is one of ``modules`` (the extra's), else ``exc`` itself.

    The result is still a ``ModuleNotFoundError`` naming the missing module.
    """
    name = exc.name or ""
    if name.partition(".")[0] not in modules:
        return exc
    return ModuleNotFoundError(
        f"{feature} needs the `{extra}` extra (no module named {name!r}): "
        f"pip install '.[{extra}]' from a clone of audian-async "
        f"(pip install 'audian-async[{extra}]' from a package index)",
        name=name,
    )
