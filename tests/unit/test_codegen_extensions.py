"""codegen/generate.py honours the spec keywords behind issue 10, for any spec (Audian too).

A tiny spec in each envelope style is rendered; the generated model knows its ``readOnly``
fields, the resource sends ``x-also-send`` names and checks ``x-echo`` fields.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]

SPEC = """
openapi: 3.1.0
info: {title: t, version: "1"}
x-sdk: {envelope: ENVELOPE}
paths:
  /things/{thing_id}:
    parameters:
      - {name: thing_id, in: path, required: true, schema: {type: string}}
    put:
      operationId: things.update
      tags: [things]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/ThingInput'}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Thing'}
components:
  schemas:
    Thing:
      type: object
      required: [id]
      properties:
        id: {type: string, readOnly: true}
        name: {type: [string, 'null']}
        created: {type: [string, 'null'], readOnly: true}
    ThingInput:
      type: object
      properties:
        name: {type: string, x-also-send: [title], x-echo: true}
"""


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "_codegen_generate", ROOT / "codegen" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("envelope", ["plain", "kazoo"])
def test_read_only_also_send_and_echo_are_generated(tmp_path: Path, envelope: str) -> None:
    generate = load_generator()
    spec = tmp_path / "mini.yaml"
    spec.write_text(SPEC.replace("ENVELOPE", envelope))
    out = tmp_path / "mini"
    generate.render(spec, out)
    model = (out / "models" / "thing.py").read_text()
    assert '__read_only__: ClassVar[frozenset[str]] = frozenset(["created", "id"])' in model
    resource = " ".join((out / "resources" / "things.py").read_text().split())
    assert '_UPDATE_ALSO_SEND: dict[str, tuple[str, ...]] = { "name": ("title",), }' in resource
    assert '"name": ("name", {}, False),' in resource
    assert "self._send_checked(" in resource
    assert "body=self._also_send(self._merge(body, fields), _UPDATE_ALSO_SEND)" in resource
