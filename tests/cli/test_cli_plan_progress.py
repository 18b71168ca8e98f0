"""plan says how far it is while it compares rows with existing items (one read each)."""

from __future__ import annotations

from pathlib import Path

import httpx

from audian_async import AsyncAudian
from audian_async.cli._plan import build_plan
from audian_async.cli._resources import get_resource
from audian_async.cli._rows import read_input
from audian_async.testing import SimulatorConfig, create_app, delay

from .conftest import write_csv


async def test_plan_reports_rows_compared_while_it_reads_existing_items(tmp_path: Path) -> None:
    sim = create_app(SimulatorConfig(bucket_size=None))
    transport = httpx.ASGITransport(app=sim)
    async with AsyncAudian(
        api_key=sim.default_api_key, base_url="http://sim/v2", transport=transport
    ) as audian:
        for name in ("ann", "bo", "cy"):
            await audian.users.create(first_name=name, last_name="X", username=name)
        path = write_csv(
            tmp_path / "users.csv",
            ["username", "first_name", "last_name"],
            [["ann", "ann", "X"], ["bo", "Bo", "X"], ["cy", "cy", "X"]],
        )
        # Each full read waits 0.3 s on the server (the loop's clock): the 0.05 s report comes first.
        sim.faults.script("GET", "/users/", times=None, kind=delay(0.3))
        lines: list[str] = []
        plan = await build_plan(
            audian,
            read_input(path),
            get_resource("users"),
            "username",
            concurrency=1,
            report=lines.append,
            interval=0.05,
        )
    assert lines[0] == "plan: compared 0/3 rows with existing users"
    assert lines == sorted(lines, key=lambda x: int(x.split()[2].split("/")[0]))  # never backwards
    assert plan.counts() == {"create": 0, "update": 1, "unchanged": 2, "invalid": 0}


async def test_an_item_deleted_after_it_was_found_is_planned_as_a_create(tmp_path: Path) -> None:
    sim = create_app(SimulatorConfig(bucket_size=None))
    transport = httpx.ASGITransport(app=sim)
    async with AsyncAudian(
        api_key=sim.default_api_key, base_url="http://sim/v2", transport=transport
    ) as audian:
        await audian.users.create(first_name="Ann", last_name="X", username="ann")
        path = write_csv(
            tmp_path / "users.csv", ["username", "first_name", "last_name"], [["ann", "Ann", "Y"]]
        )
        sim.faults.script("GET", "/users/", times=1, kind=404)  # gone between lookup and read
        plan = await build_plan(audian, read_input(path), get_resource("users"), "username")
    assert [(e.action, e.item_id) for e in plan.entries] == [("create", None)]
