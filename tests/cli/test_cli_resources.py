"""Every resource through `audian-async`: applied, then planned again with nothing to do
(the diff understands what the server gives back), a changed field planned as an update,
and rows acting on several sub-accounts named in an `account` column."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from audian_async.testing import Simulator

from .conftest import run_json, write_csv


def apply_then_nothing_to_do(path: Path, resource: str, env: dict[str, str], created: int) -> None:
    code, report, result = run_json(["apply", str(path), "-r", resource], env)
    assert code == 0, result.output
    assert (report["created"], report["failed"], report["invalid"]) == (created, 0, 0)
    code, summary, result = run_json(["plan", str(path), "-r", resource], env)
    assert code == 0, result.output
    assert summary["summary"] == {"create": 0, "update": 0, "unchanged": created, "invalid": 0}


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_users_across_sub_accounts_named_in_an_account_column(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    accounts = write_csv(
        tmp_path / "accounts.csv",
        ["name", "realm", "timezone"],
        [
            ["Acme", "acme.example.com", "America/New_York"],
            ["Globex", "globex.example.com", "Europe/Paris"],
        ],
    )
    apply_then_nothing_to_do(accounts, "accounts", env, created=2)
    ids = {
        d.data["name"]: d.id
        for d in sim.state.docs("account")
        if d.data.get("name") in ("Acme", "Globex")
    }
    users = write_csv(
        tmp_path / "users.csv",
        ["account", "username", "first_name", "last_name"],
        [
            ["acme", "jane", "Jane", "Doe"],
            ["Globex", "jane", "Jane", "Roe"],  # the same key in another account
            [ids["Globex"], "max", "Max", "Moe"],
            ["nobody", "zed", "Zed", "Zee"],
        ],
    )
    code, summary, _ = run_json(["plan", str(users), "-r", "users"], env)
    assert code == 1
    assert summary["invalid"] == [
        {
            "line": 5,
            "key": "zed",
            "errors": [
                {
                    "field": "account",
                    "rule": "exists",
                    "message": "no sub-account has this name: use the account id",
                }
            ],
        }
    ]
    code, report, _ = run_json(["apply", str(users), "-r", "users"], env)
    assert (report["created"], report["invalid"]) == (3, 1)
    by_account = {
        name: sorted(d.data["last_name"] for d in sim.state.docs("user", account_id))
        for name, account_id in ids.items()
    }
    assert by_account == {"Acme": ["Doe"], "Globex": ["Moe", "Roe"]}


def test_devices_with_nested_sip_fields_and_an_update(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    header = ["name", "device_type", "sip.username", "sip.password", "enabled"]
    rows = [[f"desk-{i}", "sip_device", f"desk{i}", f"sip-secret-{i}", "true"] for i in range(3)]
    path = write_csv(tmp_path / "devices.csv", header, rows)
    apply_then_nothing_to_do(path, "devices", env, created=3)
    rows[1][2] = "desk1-new"
    rows[2][3] = "changed-secret"  # a secret cannot be compared: no update for it alone
    write_csv(path, header, rows)
    code, summary, _ = run_json(["plan", str(path), "-r", "devices"], env)
    assert code == 3
    assert summary["summary"]["update"] == 1
    plan = json.loads((tmp_path / "devices.plan.json").read_text())
    assert plan["rows"][1]["changes"] == {"sip.username": {"from": "desk1", "to": "desk1-new"}}
    assert "sip-secret" not in json.dumps(plan)
    code, report, _ = run_json(["apply", "--plan", str(tmp_path / "devices.plan.json")], env)
    assert (code, report["updated"]) == (0, 1)
    assert {d.data["sip"]["username"] for d in sim.state.docs("device")} >= {
        "desk0",
        "desk1-new",
        "desk2",
    }


def test_callflows_from_json_lines_and_csv(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    path = write_jsonl(
        tmp_path / "callflows.jsonl",
        [
            {
                "name": "Main",
                "numbers": ["2001", "+14155550199"],
                "flow": {"module": "voicemail", "data": {"action": "check"}},
            },
            {
                "name": "Sales",
                "numbers": ["2002"],
                "flow": {"module": "ring_group", "data": {"endpoints": []}},
            },
        ],
    )
    apply_then_nothing_to_do(path, "callflows", env, created=2)
    csv_path = write_csv(
        tmp_path / "callflows.csv",
        ["numbers", "name", "flow"],
        [["2003;2004", "Support", '{"module": "voicemail", "data": {"action": "compose"}}']],
    )
    apply_then_nothing_to_do(csv_path, "callflows", env, created=1)
    numbers = sorted(n for d in sim.state.docs("callflow") for n in d.data.get("numbers", []))
    assert numbers == ["+14155550199", "2001", "2002", "2003", "2004"]


def test_phone_numbers_and_vmboxes(sim: Simulator, env: dict[str, str], tmp_path: Path) -> None:
    numbers = write_csv(
        tmp_path / "numbers.csv",
        ["number", "carrier_name", "cnam.display_name"],
        [["+14155550101", "acme-carrier", "ACME"], ["+14155550102", "acme-carrier", "ACME"]],
    )
    apply_then_nothing_to_do(numbers, "phone_numbers", env, created=2)
    vmboxes = write_csv(
        tmp_path / "vmboxes.csv",
        ["mailbox", "name", "pin", "require_pin", "notify_email_addresses"],
        [
            ["3001", "Front desk", "1234", "true", "a@example.com;b@example.com"],
            ["3002", "Back office", "", "false", ""],
        ],
    )
    apply_then_nothing_to_do(vmboxes, "vmboxes", env, created=2)
    box = next(d for d in sim.state.docs("vmbox") if d.data["mailbox"] == "3001")
    assert box.data["notify_email_addresses"] == ["a@example.com", "b@example.com"]


def test_astradial_users_queues_with_members_and_dids(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    users = write_csv(
        tmp_path / "agents.csv",
        ["extension", "email", "full_name", "role", "password", "username"],
        [
            ["1101", "ann@example.com", "Ann Agent", "agent", "a-long-password-1", "ann"],
            ["1102", "bo@example.com", "Bo Agent", "agent", "a-long-password-2", "bo"],
            ["11x3", "bad@example.com", "Bad Extension", "agent", "a-long-password-3", "bad"],
        ],
    )
    code, report, _ = run_json(["apply", str(users), "-r", "astradial-users"], env)
    assert (code, report["created"], report["invalid"]) == (1, 2, 1)
    queues = write_csv(
        tmp_path / "queues.csv",
        ["number", "name", "ring_strategy", "members"],
        [["7001", "Support", "ringall", "1101;1102"], ["7002", "Sales", "leastrecent", "1101"]],
    )
    apply_then_nothing_to_do(queues, "astradial-queues", env, created=2)
    write_csv(
        queues,
        ["number", "name", "ring_strategy", "members"],
        [["7002", "Sales", "leastrecent", "1101;1102"]],
    )
    code, summary, _ = run_json(["plan", str(queues), "-r", "astradial-queues"], env)
    assert (code, summary["summary"]["update"]) == (3, 1)
    plan = json.loads((tmp_path / "queues.plan.json").read_text())
    assert plan["rows"][0]["changes"] == {"members": {"from": ["1101"], "to": ["1101", "1102"]}}
    code, report, _ = run_json(["apply", "--plan", str(tmp_path / "queues.plan.json")], env)
    assert (code, report["updated"]) == (0, 1)
    code, summary, _ = run_json(["plan", str(queues), "-r", "astradial-queues"], env)
    assert code == 0, (tmp_path / "queues.plan.json").read_text()
    dids = write_csv(
        tmp_path / "dids.csv",
        ["number", "description", "routing_type", "routing_destination"],
        [["+14155550170", "Support line", "queue", "7001"]],
    )
    apply_then_nothing_to_do(dids, "astradial-dids", env, created=1)
    with_account = write_csv(
        tmp_path / "acct.csv", ["account", "extension", "email"], [["x", "1201", "c@example.com"]]
    )
    code, summary, _ = run_json(["plan", str(with_account), "-r", "astradial-users"], env)
    assert code == 1 and summary["invalid"][0]["errors"][0]["field"] == "account"


def test_devices_and_vmboxes_name_their_owner_by_username(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    users = write_csv(
        tmp_path / "users.csv", ["username", "first_name", "last_name"], [["kim", "Kim", "Lee"]]
    )
    apply_then_nothing_to_do(users, "users", env, created=1)
    kim = next(d.id for d in sim.state.docs("user") if d.data.get("username") == "kim")
    devices = write_csv(
        tmp_path / "devices.csv",
        ["name", "owner", "device_type"],
        [["kim-desk", "Kim", "sip_device"], ["ghost-desk", "ghost", "sip_device"]],
    )
    code, summary, _ = run_json(["plan", str(devices), "-r", "devices"], env)
    assert code == 1
    assert summary["invalid"][0]["line"] == 3
    assert summary["invalid"][0]["errors"][0]["field"] == "owner"
    code, report, _ = run_json(["apply", "--plan", str(tmp_path / "devices.plan.json")], env)
    assert (report["created"], report["invalid"]) == (1, 1)
    assert [d.data.get("owner_id") for d in sim.state.docs("device")] == [kim], sim.state.docs(
        "device"
    )
    vmboxes = write_csv(
        tmp_path / "vm.csv", ["mailbox", "name", "owner"], [["4001", "Kim's box", "kim"]]
    )
    apply_then_nothing_to_do(vmboxes, "vmboxes", env, created=1)
    assert [d.data.get("owner_id") for d in sim.state.docs("vmbox")] == [kim], [
        d.data for d in sim.state.docs("vmbox")
    ]
