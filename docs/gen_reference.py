"""Write the API reference pages at build time (the mkdocs ``gen-files`` plugin runs this).

One page per resource group of each client, found by asking the clients themselves: every
resource attribute of ``AsyncAudian`` and ``AsyncAstradial`` (a new tag in ``spec/`` gets its
page with no change here), one page per API for its models, and pages for the core classes.
``reference/SUMMARY.md`` is the section's navigation (``literate-nav``).
"""

from __future__ import annotations

import asyncio
import inspect
from functools import cached_property
from typing import Any

import mkdocs_gen_files

from audian_async import AsyncAstradial, AsyncAudian
from audian_async._generated.astradial import models as astradial_models
from audian_async._generated.audian import models as audian_models

# Core classes: page name -> (title, objects documented on it).
CORE: dict[str, tuple[str, list[str]]] = {
    "clients": ("Clients", ["audian_async.AsyncAudian", "audian_async.AsyncAstradial"]),
    "errors": (
        "Errors",
        [
            "audian_async._errors",
            "audian_async._request_info.RequestInfo",
            "audian_async._request_info.ResponseInfo",
        ],
    ),
    "pagination": (
        "Pagination",
        ["audian_async._pagination.AsyncPaginator", "audian_async._pagination.Page"],
    ),
    "responses": ("Raw responses", ["audian_async._response.APIResponse"]),
    "options": (
        "Timeouts and options",
        ["audian_async._types.CallOptions", "audian_async._types.Timeout"],
    ),
    "events": ("Realtime events", ["audian_async.events"]),
    "bulk": ("Bulk runner", ["audian_async.bulk"]),
    "testing": ("Simulator", ["audian_async.testing"]),
    "fastapi": (
        "FastAPI integration",
        ["audian_async.integrations.fastapi", "audian_async.integrations.fastapi_events"],
    ),
}


def resources(client: Any) -> list[tuple[str, type]]:
    """``(attribute, resource class)`` for every resource group the client exposes
    (``events``, the event socket, has its own page among the core classes)."""
    found = []
    for name in sorted(dir(type(client))):
        if name.startswith("_") or name in (
            "with_raw_response",
            "with_streaming_response",
            "events",
        ):
            continue
        attribute = inspect.getattr_static(client, name)
        if isinstance(attribute, cached_property):
            found.append((name, type(getattr(client, name))))
    return found


def write_resource_page(api: str, title: str, name: str, cls: type) -> str:
    path = f"reference/{api}/{name}.md"
    with mkdocs_gen_files.open(path, "w") as page:
        page.write(f"# {title}: `{name}`\n\n")
        page.write(
            f"`client.{name}` groups these operations. Every one is also available as "
            f"`client.{name}.with_raw_response.<operation>(...)` (or "
            f"`client.with_raw_response.{name}`), which returns an `APIResponse` "
            "with the typed result and the response metadata. Listings and downloads are "
            f"also available as `client.{name}.with_streaming_response.<operation>(...)`, an "
            "`async with` block handing out the response body unread. Every operation takes "
            "the per-call options of `CallOptions` (`deadline=`, `timeout=`, `max_retries=`, "
            "`extra_headers=`, `extra_query=`, `extra_body=`, `validate=`).\n\n"
        )
        page.write(f"::: {cls.__module__}.{cls.__qualname__}\n")
        page.write(
            "    options:\n      inherited_members: true\n      show_root_full_path: false\n"
        )
    return path


def write_models_page(api: str, title: str, module: Any) -> str:
    path = f"reference/{api}/models.md"
    package = module.__name__
    with mkdocs_gen_files.open(path, "w") as page:
        page.write(f"# {title} models\n\n")
        page.write(
            f"Import them from `audian_async.{api}` (`from audian_async.{api} import ...`).\n\n"
        )
        for name in sorted(module.__all__):
            cls = getattr(module, name)
            page.write(f"::: {package}.{cls.__module__.rsplit('.', 1)[-1]}.{name}\n")
            page.write("    options:\n      heading_level: 2\n      members: false\n\n")
    return path


def main() -> None:
    audian = AsyncAudian(api_key="docs-build")
    astra = AsyncAstradial(base_url="http://docs.invalid", api_key="docs-build")
    nav = mkdocs_gen_files.Nav()
    for name, (title, objects) in CORE.items():
        with mkdocs_gen_files.open(f"reference/{name}.md", "w") as page:
            page.write(f"# {title}\n\n")
            for obj in objects:
                page.write(f"::: {obj}\n\n")
        nav[title] = f"{name}.md"
    for api, title, client, models in (
        ("audian", "Audian", audian, audian_models),
        ("astradial", "Astradial", astra, astradial_models),
    ):
        for name, cls in resources(client):
            write_resource_page(api, title, name, cls)
            nav[title, name] = f"{api}/{name}.md"
        write_models_page(api, title, models)
        nav[title, "models"] = f"{api}/models.md"
    with mkdocs_gen_files.open("reference/SUMMARY.md", "w") as summary:
        summary.writelines(nav.build_literate_nav())
    asyncio.run(audian.aclose())
    asyncio.run(astra.aclose())


main()
