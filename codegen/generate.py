"""Generate the typed resource and model layer of audian-async from ``spec/``.

    python codegen/generate.py            # regenerate audian_async/_generated/<api>/ for every spec
    python codegen/generate.py --check    # regenerate into a temporary folder; fail on any drift

The pipeline, per spec: load the YAML and parse it with openapi-python-client's parser
(``sdkgen/opc.py``, the one place that touches it); build plain "views" of its resources,
models and enums, adding what the parser does not expose (operation-level ``x-`` extensions,
envelope unwrapping, pagination style, retry safety) from the raw spec (``sdkgen/operations.py``,
``sdkgen/models.py``); render them with our templates (``codegen/templates``) into the
package, and format it with the pinned ruff (``sdkgen/render.py``). See ``codegen/README.md``.
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

if str(Path(__file__).parent) not in sys.path:  # loaded by path (tests), not run as a script
    sys.path.insert(0, str(Path(__file__).parent))

from sdkgen.context import OUTPUT, ROOT, SPEC_DIR, ApiContext, header
from sdkgen.models import enum_view, model_view
from sdkgen.opc import load, parse
from sdkgen.operations import resource_view
from sdkgen.render import format_tree, write_package


def render(spec: Path, dest: Path) -> None:
    """Render one spec into ``dest`` (the final package folder)."""
    document = load(spec)
    ctx = ApiContext(spec, document)
    openapi = parse(spec, document)
    resources = [
        resource_view(collection, ctx)
        for tag, collection in openapi.endpoint_collections_by_tag.items()
        if str(tag) != "auth"  # the credential exchanges are the core's
    ]
    models = {m.class_info.name: model_view(m, ctx) for m in openapi.models}
    integer_enums = [e.class_info.name for e in openapi.enums if e.value_type is not str]
    if integer_enums:
        raise SystemExit(f"{spec.name}: only string enums are supported: {integer_enums}")
    enums = {e.class_info.name: enum_view(e, ctx) for e in openapi.enums}
    write_package(
        ctx,
        resources,
        [m for m in models.values() if m is not None],
        [e for e in enums.values() if e is not None],
        dest,
    )
    format_tree(dest)


def specs() -> Iterable[Path]:
    return sorted(SPEC_DIR.glob("*.yaml"))


def diff_trees(expected: Path, actual: Path) -> list[str]:
    """Relative paths that differ between two trees (missing, extra or changed)."""
    exp = {p.relative_to(expected) for p in expected.rglob("*.py")}
    act = {p.relative_to(actual) for p in actual.rglob("*.py")} if actual.exists() else set()
    out = [f"missing: {p}" for p in sorted(exp - act)]
    out += [f"not generated from the spec: {p}" for p in sorted(act - exp)]
    out += [
        f"differs: {p}"
        for p in sorted(exp & act)
        if not filecmp.cmp(expected / p, actual / p, shallow=False)
    ]
    return out


def check() -> int:
    """Regenerate into a temporary folder and compare with the committed code."""
    drift: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in specs():
            fresh = Path(tmp) / spec.stem
            render(spec, fresh)
            drift += [f"{spec.stem}: {d}" for d in diff_trees(fresh, OUTPUT / spec.stem)]
    if drift:
        print("Generated code is out of date with spec/ or codegen/ (run `nox -s generate`):")
        print("\n".join(f"  {d}" for d in drift))
        return 1
    print("Generated code matches spec/ and codegen/.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="fail if the committed code differs from the spec"
    )
    if parser.parse_args(argv).check:
        return check()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "__init__.py").write_text(
        f'{header("*.yaml")}\n"""Code generated from spec/; see codegen/generate.py."""\n'
    )
    for spec in specs():
        render(spec, OUTPUT / spec.stem)
        print(f"generated {OUTPUT.relative_to(ROOT) / spec.stem} from spec/{spec.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
