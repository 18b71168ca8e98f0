"""The one cattrs converter: decoded JSON to models and back.

Hooks are generated once per class (cattrs caches them): JSON names that differ from Python
names are renamed, unknown keys are collected into ``Model.extra`` (and merged back on
unstructure), unset (``None``) fields are omitted on the way out, and documented enums stay
tolerant: a value the spec does not list is kept as a plain string instead of failing.

Reading never invents data. A value either has the documented type, or is read as what it
means in Kazoo's own coercion (``"true"``/``"false"`` as booleans, a whole number sent as a
float as the integer), or it is kept exactly as the server sent it, flagged with an
:class:`~audian_async.UnexpectedValueWarning`, and written back unchanged by an update.
"""

from __future__ import annotations

import copy
import enum
import importlib
import types
import typing
import warnings
import weakref
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import attrs
import cattrs
from cattrs.fns import identity
from cattrs.gen import make_dict_unstructure_fn, override

from ._operation import Unwrap
from ._redact import REDACTED, SECRET_FIELD_NAMES

if TYPE_CHECKING:  # models call this module, never the other way round
    from ._model import Model

__all__ = ["converter", "kept_values", "structure", "unstructure"]


class _Kept(Exception):
    """A value that cannot be read as its documented type: its field keeps it as sent."""

    def __init__(self, expected: str, value: Any) -> None:
        super().__init__(f"expected {expected}, got {type(value).__name__}")


def _read_bool(value: Any, _: Any = None) -> bool:
    if value is True or value is False:
        return value
    if value == "true" and type(value) is str:  # the forms kz_term:to_boolean/1 accepts
        return True
    if value == "false" and type(value) is str:
        return False
    raise _Kept("bool", value)


def _read_int(value: Any, _: Any = None) -> int:
    cls = type(value)
    if cls is int:
        return value  # type: ignore[no-any-return]
    if cls is float and value.is_integer():
        return int(value)  # the same JSON number; Kazoo's `integer` takes only this form
    raise _Kept("int", value)


def _read_float(value: Any, _: Any = None) -> float:
    cls = type(value)
    if cls is float or cls is int:  # an integer is a JSON number: kept as it is
        return value  # type: ignore[no-any-return]
    raise _Kept("float", value)


def _read_str(value: Any, _: Any = None) -> str:
    if isinstance(value, str):
        return value
    raise _Kept("str", value)


_READERS: dict[type, Callable[[Any, Any], Any]] = {
    bool: _read_bool,
    int: _read_int,
    float: _read_float,
    str: _read_str,
}

# id(model) -> {Python name: the value kept as sent}, for models holding such values. Entries
# leave with their model (weakref.finalize).
_KEPT: dict[int, dict[str, Any]] = {}


def _remember_kept(model: Model, kept: dict[str, Any]) -> None:
    key = id(model)
    _KEPT[key] = kept
    weakref.finalize(model, _KEPT.pop, key, None)


def _warn_kept(cls: type[Model], key: str, name: str, value: Any, expected: str) -> None:
    from ._errors import UnexpectedValueWarning

    secret = name in cls.__secret_fields__ or key in SECRET_FIELD_NAMES
    warnings.warn(
        UnexpectedValueWarning(cls.__name__, key, REDACTED if secret else value, expected),
        stacklevel=2,
    )


def _describe(tp: Any) -> str:
    """A type as a reader would write it: ``list[str]``, ``CallForward``, ``bool``."""
    if _is_union(tp):
        return " | ".join(_describe(m) for m in typing.get_args(tp) if m is not type(None))
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is not None and args:
        return f"{_describe(origin)}[{', '.join(_describe(a) for a in args)}]"
    return str(getattr(tp, "__name__", tp))


def kept_values(model: Model, prefix: str = "") -> dict[str, Any]:
    """The values ``model`` (and the models inside it) kept as sent and still hold, by dotted
    JSON path (``call_forward.enabled``, ``entries.0.number``); empty when there are none."""
    out: dict[str, Any] = {}
    if _KEPT:
        _collect_kept(model, prefix, out)
    return out


def _collect_kept(value: Any, path: str, out: dict[str, Any]) -> None:
    if _is_model(type(value)):
        cls = type(value)
        kept = _KEPT.get(id(value))
        for a in attrs.fields(cls):
            if a.name == "extra":
                continue
            item = getattr(value, a.name)
            key = cls.__json_names__.get(a.name, a.name)
            where = f"{path}.{key}" if path else key
            if kept is not None and a.name in kept and item is kept[a.name]:
                out[where] = item
            elif isinstance(item, list | dict) or _is_model(type(item)):
                _collect_kept(item, where, out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, list | dict) or _is_model(type(item)):
                _collect_kept(item, f"{path}.{i}", out)
    elif isinstance(value, dict):
        for k, item in value.items():
            if isinstance(item, list | dict) or _is_model(type(item)):
                _collect_kept(item, f"{path}.{k}" if path else str(k), out)


class _LazyModels(Mapping[str, Any]):
    """A namespace that imports model classes of one generated package on demand."""

    def __init__(self, package: str) -> None:
        self._package = package

    def __getitem__(self, name: str) -> Any:
        module = importlib.import_module(self._package)
        try:
            return getattr(module, name)
        except AttributeError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _resolve(cls: type) -> None:
    # Each class's own module is its global namespace; the lazy mapping supplies the models
    # that generated modules import only under TYPE_CHECKING.
    package = cls.__module__.rsplit(".", 1)[0]
    attrs.resolve_types(cls, localns=_LazyModels(package))  # type: ignore[arg-type]


def _is_model(t: Any) -> bool:
    """A generated model class (an attrs class with the model's JSON-name table)."""
    return isinstance(t, type) and hasattr(t, "__json_names__") and attrs.has(t)


def _is_enum(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, enum.Enum)


def _is_optional_primitive(t: Any) -> bool:
    """``str | None``, ``int | None``, ``float | None`` or ``bool | None``."""
    if not _is_union(t):
        return False
    args = typing.get_args(t)
    return (
        len(args) == 2
        and type(None) in args
        and all(a is type(None) or a in _PRIMITIVES for a in args)
    )


def _is_list(t: Any) -> bool:
    return typing.get_origin(t) is list


def _is_dict(t: Any) -> bool:
    return typing.get_origin(t) is dict


def _is_union(t: Any) -> bool:
    origin = typing.get_origin(t)
    return origin is typing.Union or origin is types.UnionType


_PRIMITIVES = (str, int, float, bool)


def _lazy_hook(conv: cattrs.Converter, cls: Any) -> Callable[[Any, Any], Any]:
    """``conv.structure`` for ``cls``, its hook looked up once, on first use.

    (Not at hook-building time: the models of a class may not be resolvable yet.)
    """
    found: list[Callable[[Any, Any], Any]] = []

    def structure(value: Any, cl: Any) -> Any:
        if not found:
            found.append(conv.get_structure_hook(cls))
        return found[0](value, cl)

    return structure


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False, detailed_validation=False)

    def structure_model(cls: type[Model]) -> Callable[[Any, Any], Model]:
        _resolve(cls)
        json_names = cls.__json_names__
        # x-aliases: {primary JSON name: (alias, ...)}; an alias is read when the primary is
        # missing or null, and is never kept in `extra`.
        aliases = {
            json_names.get(py, py): tuple(names) for py, names in cls.__json_aliases__.items()
        }
        known = frozenset(
            json_names.get(a.name, a.name) for a in attrs.fields(cls) if a.name != "extra"
        ).union(*aliases.values())
        lift = cls.__lift__
        # Built on first use: the hooks of field types may name models not resolvable yet.
        fields: dict[str, _Field | None] = {}
        plain: dict[str, tuple[str, frozenset[type]]] = {}
        plain_get = plain.get

        def structure(data: Any, _: Any) -> Model:
            if type(data) is not dict:
                if _is_model(type(data)):
                    return cast("Model", data)
                if not isinstance(data, Mapping):
                    raise _Kept(f"a JSON object ({cls.__name__})", data)
            if lift is not None and isinstance(data.get(lift), Mapping):
                # x-lift: `{"totals": {"total_calls": 3}}` also fills the top-level field.
                fill = {k: v for k, v in data[lift].items() if k in known and data.get(k) is None}
                if fill:
                    data = {**data, **fill}
            if aliases:
                data = _apply_aliases(data, aliases)
            if not fields:
                fields.update(_field_table(conv, cls, aliases))
                plain.update(_plain_fields(fields))
            kwargs: dict[str, Any] = {}
            extra: dict[str, Any] | None = None
            kept: dict[str, Any] | None = None
            for key, value in data.items():
                # Most values need no change: passed under the field's name when of a class
                # the field keeps as it is.
                entry = plain_get(key)
                if entry is not None and type(value) in entry[1]:
                    kwargs[entry[0]] = value
                    continue
                try:
                    field = fields[key]
                except KeyError:
                    if extra is None:
                        extra = {}
                    extra[key] = value
                    continue
                if field is None:
                    continue  # an alias, already read into its primary field
                name, hook, tp, as_is = field
                if as_is is None or type(value) in as_is:
                    kwargs[name] = value
                    continue
                try:
                    kwargs[name] = hook(value, tp)
                except RecursionError:
                    raise
                except Exception:  # not readable as documented: kept as sent
                    kwargs[name] = value
                    if kept is None:
                        kept = {}
                    kept[name] = value
                    _warn_kept(cls, key, name, value, _describe(tp))
            if extra is not None:
                kwargs["extra"] = extra
            model = cls(**kwargs)
            if kept is not None:
                _remember_kept(model, kept)
            return model

        return structure

    def unstructure_model(cls: type[Model]) -> Callable[[Model], dict[str, Any]]:
        _resolve(cls)
        renames = {py: override(rename=js) for py, js in cls.__json_names__.items()}
        base = make_dict_unstructure_fn(
            cls,
            conv,
            _cattrs_omit_if_default=True,
            extra=override(omit=True),
            **renames,  # type: ignore[arg-type]
        )

        json_names = cls.__json_names__

        def unstructure(obj: Model) -> dict[str, Any]:
            if _KEPT and id(obj) in _KEPT:
                # Values kept as sent go back as they are: the typed hooks would rewrite them.
                same = {k: v for k, v in _KEPT[id(obj)].items() if getattr(obj, k) is v}
                if same:
                    clone = copy.copy(obj)
                    for name in same:
                        object.__setattr__(clone, name, None)
                    out = unstructure(clone)
                    for name, value in same.items():
                        out[json_names.get(name, name)] = value
                    return out
            out = base(obj)
            if obj.extra:
                merged = dict(conv.unstructure(obj.extra))
                merged.update(out)
                return merged
            return out

        return unstructure

    def structure_enum(cls: type[enum.Enum]) -> Callable[[Any, Any], Any]:
        members = cls._value2member_map_

        def structure(value: Any, _: Any) -> Any:
            if type(value) is dict or type(value) is list:
                raise _Kept(f"a value of {cls.__name__}", value)
            return members.get(value, value)

        return structure

    def structure_union(union: Any) -> Callable[[Any, Any], Any]:
        members = [m for m in typing.get_args(union) if m is not type(None)]
        enums = [m for m in members if _is_enum(m)]
        models = [m for m in members if _is_model(m)]
        if enums:
            enum_hook = structure_enum(enums[0])
            return lambda value, _: None if value is None else enum_hook(value, None)
        if len(members) == 1:
            inner = members[0]
            if inner in _PRIMITIVES:
                read = _READERS[inner]

                def structure_primitive(value: Any, _: Any) -> Any:
                    if value is None or type(value) is inner:
                        return value
                    return read(value, inner)

                return structure_primitive
            inner_hook = _lazy_hook(conv, inner)
            return lambda value, _: None if value is None else inner_hook(value, inner)
        if models:
            # Several models: the first whose required JSON keys are all present.
            choices = [(m, _required_keys(m), _lazy_hook(conv, m)) for m in models]

            def structure_model_union(value: Any, _: Any) -> Any:
                if value is None:
                    return None
                if isinstance(value, Mapping):
                    for model, required, hook in choices:
                        if required <= value.keys() or model is choices[-1][0]:
                            return hook(value, model)
                return value

            return structure_model_union
        # A union of JSON primitives (str | int ...): keep the decoded value as it is.
        return lambda value, _: value

    def structure_list(tp: Any) -> Callable[[Any, Any], Any]:
        (item,) = typing.get_args(tp) or (Any,)
        item_hook = _lazy_hook(conv, item)

        def structure(value: Any, _: Any) -> Any:
            if type(value) is not list:
                raise _Kept("a JSON array", value)
            return [item_hook(v, item) for v in value]

        return structure

    def structure_dict(tp: Any) -> Callable[[Any, Any], Any]:
        _, item = typing.get_args(tp) or (str, Any)
        item_hook = _lazy_hook(conv, item)

        def structure(value: Any, _: Any) -> Any:
            if not isinstance(value, Mapping):
                raise _Kept("a JSON object", value)
            return {k: item_hook(v, item) for k, v in value.items()}

        return structure

    for primitive, reader in _READERS.items():
        conv.register_structure_hook(primitive, reader)
    conv.register_structure_hook_factory(_is_list, structure_list)
    conv.register_structure_hook_factory(_is_dict, structure_dict)
    conv.register_structure_hook_factory(_is_model, structure_model)
    conv.register_unstructure_hook_factory(_is_model, unstructure_model)
    conv.register_structure_hook_factory(_is_enum, structure_enum)
    conv.register_structure_hook_factory(_is_union, structure_union)
    conv.register_structure_hook(Any, lambda value, _: value)
    conv.register_unstructure_hook(enum.Enum, lambda e: e.value)
    # `str | None` (any JSON primitive) is written as it is: with the identity hook, cattrs
    # inlines the value into a model's generated unstructure function instead of a call.
    conv.register_unstructure_hook_factory(_is_optional_primitive, lambda _: identity)
    return conv


def _required_keys(cls: type[Model]) -> frozenset[str]:
    """The JSON names of a model's required fields (those without a default)."""
    _resolve(cls)
    return frozenset(
        cls.__json_names__.get(a.name, a.name)
        for a in attrs.fields(cls)
        if a.default is attrs.NOTHING and a.name != "extra"
    )


# One field as structure_model reads it: (Python name, hook, type, the value classes kept
# as they are without calling the hook, or None when every value is kept as it is).
_Field = tuple[str, Callable[[Any, Any], Any], Any, "frozenset[type] | None"]


def _kept_as_is(tp: Any) -> frozenset[type] | None:
    """The value classes a field of type ``tp`` keeps unchanged (what its hook would return).

    ``None`` means every value (``Any``). A primitive is kept when its class is exactly the
    annotated one (``int`` for ``float`` or ``bool`` for ``int`` still go through the hook).
    """
    if tp is Any:
        return None
    members = typing.get_args(tp) if _is_union(tp) else (tp,)
    values = [m for m in members if m is not type(None)]
    kept: set[type] = {type(None)} if len(values) < len(members) else set()
    if any(_is_enum(m) for m in values):
        return frozenset(kept)  # the enum hook turns listed values into members
    if len(values) > 1 and all(m in _PRIMITIVES for m in values):
        return None  # a union of primitives is kept as decoded (see structure_union)
    kept.update(m for m in values if m in _PRIMITIVES)
    return frozenset(kept)


def _field_hook(conv: cattrs.Converter, tp: Any) -> Callable[[Any, Any], Any]:
    """The converter's hook for a field of type ``tp``, with a shortcut for two common shapes.

    ``SomeEnum | str | None`` maps a listed value to its member in one call, and
    ``list[str] | None`` (any JSON primitive) copies a list whose items all have exactly that
    class instead of converting them one by one. Anything else gets the converter's hook,
    which the shortcuts fall back on.
    """
    members = typing.get_args(tp) if _is_union(tp) else (tp,)
    values = [m for m in members if m is not type(None)]
    enums = [m for m in values if _is_enum(m)]
    if enums:
        lookup = enums[0]._value2member_map_

        def structure_enum_field(value: Any, _: Any) -> Any:
            if type(value) is dict or type(value) is list:
                raise _Kept(f"a value of {enums[0].__name__}", value)
            return None if value is None else lookup.get(value, value)

        return structure_enum_field
    hook = conv.get_structure_hook(tp)
    if len(values) == 1 and typing.get_origin(values[0]) is list:
        (item,) = typing.get_args(values[0]) or (Any,)
        if item in _PRIMITIVES:

            def structure_list_field(value: Any, cl: Any) -> Any:
                if type(value) is list:
                    for v in value:
                        if type(v) is not item:
                            return hook(value, cl)
                    return value[:]
                return None if value is None else hook(value, cl)

            return structure_list_field
    return hook


def _field_table(
    conv: cattrs.Converter, cls: type[Model], aliases: Mapping[str, tuple[str, ...]]
) -> dict[str, _Field | None]:
    """JSON name -> how to read it, for every field of ``cls`` (aliases map to ``None``)."""
    json_names = cls.__json_names__
    table: dict[str, _Field | None] = {}
    for a in attrs.fields(cls):
        if a.name == "extra":
            continue
        table[json_names.get(a.name, a.name)] = (
            a.name,
            _field_hook(conv, a.type),
            a.type,
            _kept_as_is(a.type),
        )
    for names in aliases.values():
        for name in names:
            table.setdefault(name, None)
    return table


def _plain_fields(
    fields: Mapping[str, _Field | None],
) -> dict[str, tuple[str, frozenset[type]]]:
    """JSON name -> (Python name, the value classes the field keeps as they are).

    The Python name is the field's own (interned) string, not the decoder's equal copy of the
    JSON key: keyword arguments named by it match the class's ``__init__`` parameters by
    identity, where the decoder's strings make CPython compare them one by one.
    """
    return {
        key: (field[0], _JSON_CLASSES if field[3] is None else field[3])
        for key, field in fields.items()
        if field is not None
    }


# The classes of decoded JSON values (what a field of type Any keeps as it is).
_JSON_CLASSES: frozenset[type] = frozenset((str, int, float, bool, type(None), list, dict))


def _apply_aliases(
    data: Mapping[str, Any], aliases: Mapping[str, tuple[str, ...]]
) -> Mapping[str, Any]:
    """``data`` with each alias's value moved to its primary name when the primary is unset."""
    out: dict[str, Any] | None = None
    for primary, names in aliases.items():
        if data.get(primary) is not None:
            continue
        for name in names:
            if data.get(name) is not None:
                out = dict(data) if out is None else out
                out[primary] = data[name]
                break
    return data if out is None else out


@cache
def converter() -> cattrs.Converter:
    """The process-wide converter (built on first use; hooks are cached per class)."""
    return _make_converter()


def structure(data: Any, cls: Any) -> Any:
    """Decoded JSON to the given type (a model, ``list[Model]``, ``dict[str, Model]`` ...)."""
    if isinstance(cls, Unwrap):
        if isinstance(data, Mapping):
            key = next((k for k in cls.keys if k in data), None)
            if key is not None:
                data = data[key]
        cls = cls.inner
    try:
        hook = _structure_hooks[cls]
    except KeyError:
        hook = _structure_hooks[cls] = converter().get_structure_hook(cls)
    except TypeError:  # an unhashable type expression
        return converter().structure(data, cls)
    return hook(data, cls)


# converter().structure(data, cls) looks its hook up on every call; this keeps them by type.
_structure_hooks: dict[Any, Callable[[Any, Any], Any]] = {}


def unstructure(obj: Any) -> Any:
    """A model (or anything containing models) to JSON-ready data."""
    return converter().unstructure(obj)
