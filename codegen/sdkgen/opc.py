"""Everything codegen takes from openapi-python-client, imported here and nowhere else.

We use its OpenAPI parser only (see ``codegen/README.md``): ``GeneratorData.from_dict`` turns a
spec into endpoint collections by tag, models and enums, with their properties typed and
named. The templates, the Jinja environment and the file layout are ours.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openapi_python_client.config import Config, ConfigFile, MetaType
from openapi_python_client.parser import GeneratorData
from openapi_python_client.parser.errors import GeneratorError
from openapi_python_client.parser.properties import (
    AnyProperty,
    BooleanProperty,
    DateProperty,
    DateTimeProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    ListProperty,
    ModelProperty,
    NoneProperty,
    UnionProperty,
)

__all__ = [
    "AnyProperty",
    "BooleanProperty",
    "DateProperty",
    "DateTimeProperty",
    "EnumProperty",
    "FloatProperty",
    "GeneratorData",
    "IntProperty",
    "ListProperty",
    "ModelProperty",
    "NoneProperty",
    "UnionProperty",
    "load",
    "parse",
]

# The parser's settings: `field_prefix` names fields that start with a digit, the overrides
# parse binary downloads (x-stream operations) as bytes. Nothing else of the config is read.
SETTINGS = ConfigFile(
    post_hooks=[],
    field_prefix="field_",
    generate_all_tags=False,
    content_type_overrides={
        "audio/wav": "application/octet-stream",
        "audio/x-wav": "application/octet-stream",
        "audio/mpeg": "application/octet-stream",
        "application/pdf": "application/octet-stream",
    },
)


def load(spec: Path) -> dict[str, Any]:
    """The YAML of ``spec`` as the parser reads it (ruamel's safe loader: YAML 1.2, where
    ``NO`` stays a string), so our views and the parser see the same document."""
    from ruamel.yaml import YAML

    document: dict[str, Any] = YAML(typ="safe").load(spec.read_bytes())
    return document


def parse(spec: Path, document: dict[str, Any]) -> GeneratorData:
    """The parsed ``document`` (the YAML of ``spec``); anything it cannot parse stops codegen."""
    config = Config.from_sources(SETTINGS, MetaType.NONE, spec, "utf-8", True, None)
    openapi = GeneratorData.from_dict(document, config=config)
    if isinstance(openapi, GeneratorError):
        raise SystemExit(f"{spec.name}: {openapi.header} {openapi.detail}")
    problems = [f"{e.header} {e.detail}" for e in openapi.errors]
    for collection in openapi.endpoint_collections_by_tag.values():
        problems += [f"{e.header} {e.detail}" for e in collection.parse_errors]
    if problems:
        raise SystemExit(
            f"{spec.name}: the generator could not parse everything:\n" + "\n".join(problems)
        )
    return openapi
