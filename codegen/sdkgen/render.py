"""Render the views with our templates into one API's package, and format it."""

from __future__ import annotations

import pprint
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .context import ROOT, TEMPLATES, ApiContext, header


def environment(ctx: ApiContext, globals_: dict[str, Any]) -> Environment:
    """The Jinja environment of one spec: our templates, with what every template reads."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.loopcontrols"],
        undefined=StrictUndefined,
    )
    env.globals.update(
        header=header(ctx.spec_path.name),
        api=ctx.api,
        package_root=ctx.package,
        **globals_,
    )
    return env


def write_package(
    ctx: ApiContext,
    resources: list[dict[str, Any]],
    models: list[dict[str, Any]],
    enums: list[dict[str, Any]],
    dest: Path,
) -> None:
    """Write ``dest`` afresh: the package, one module per resource, model and enum, and the
    JSON schemas of request bodies."""
    exported = sorted([*models, *enums], key=lambda v: v["name"])
    env = environment(ctx, {"resource_views": resources, "exported_models": exported})
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "models").mkdir(parents=True)
    (dest / "resources").mkdir()
    files: list[tuple[Path, str, dict[str, Any]]] = [
        (dest / "__init__.py", "package.py.jinja", {}),
        (dest / "resources" / "__init__.py", "resources_init.py.jinja", {}),
        (dest / "models" / "__init__.py", "models_init.py.jinja", {}),
        *[
            (dest / "resources" / f"{r['tag']}.py", "resource.py.jinja", {"r": r})
            for r in resources
        ],
        *[(dest / "models" / f"{m['module']}.py", "model.py.jinja", {"m": m}) for m in models],
        *[(dest / "models" / f"{e['module']}.py", "enum.py.jinja", {"e": e}) for e in enums],
    ]
    for path, template, values in files:
        path.write_text(env.get_template(template).render(**values))
    (dest / "_schemas.py").write_text(schemas_module(ctx))


def schemas_module(ctx: ApiContext) -> str:
    body = pprint.pformat(ctx.components, width=110, sort_dicts=True)
    return (
        f"{header(ctx.spec_path.name)}\n"
        f'"""JSON schemas of spec/{ctx.spec_path.name} used to validate request bodies before '
        'sending."""\n\n'
        "from typing import Any\n\n"
        f"SCHEMAS: dict[str, Any] = {body}\n"
    )


def ruff(*args: str) -> None:
    """Run the pinned ruff with fixed settings, so output does not depend on where it is written."""
    settings = ["--isolated", "--line-length", "100", "--target-version", "py311"]
    subprocess.run(
        [sys.executable, "-m", "ruff", *args, *settings],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )


def format_tree(dest: Path) -> None:
    ruff("check", "--fix-only", "--no-cache", "--quiet", "--select", "I,F401", str(dest))
    ruff("format", "--no-cache", "--quiet", str(dest))
