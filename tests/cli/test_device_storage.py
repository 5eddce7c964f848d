"""`reconciler device storage|delete-file|fetch-file|test-copy`, end to end: a copy of the example
repository, its twin served on loopback HTTPS (the inventory's own ca_bundle and env: credentials),
the CLI as a user runs it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli, main
from reconciler.sim.fleet import SimFleet
from tests.sim_support import (
    EXAMPLE_ENV,
    PASSWORD,
    example_fleet,
    example_repo,
    probes_left,
    reported_storage,
    serve_in_thread,
    sim_storage,
)

# registered as a secret once resolved (redacted everywhere after): must not be a common word
WRONG = "not-the-password-5d1e9"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Path, SimFleet]]:
    """(repository, fleet): the example twin served over HTTPS for a copy of the example repo."""
    fleet = example_fleet()
    repo = tmp_path / "repo"
    with serve_in_thread(fleet, repo / ".reconciler" / "sim") as sim:
        example_repo(repo, sim.url)
        yield repo, fleet


def run(repo: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(cli, ["device", *args, "--repo", str(repo)], env=env or EXAMPLE_ENV)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output + result.stderr
    return result


def files_on(fleet: SimFleet, device: str, unit: str, disk: str = "disk0") -> dict[str, int]:
    return next(u for u in fleet.state(device)["units"] if u["name"] == unit)["disks"][disk]["files"]


# ------------------------------------------------------------------ storage


@pytest.mark.parametrize("name", ["fw-branch-01", "fw-dc-pair", "fw-dc-cluster", "ep-win-001"])
def test_storage_json_is_what_the_simulator_holds(site: tuple[Path, SimFleet], name: str) -> None:
    repo, fleet = site
    r = run(repo, "storage", name, "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["device"] == name and doc["format_version"] == 1 and doc["ok"] is True
    assert reported_storage(doc) == sim_storage(fleet, name)
    for m in doc["members"]:
        for d in m["disks"]:
            assert d["used"] == d["size"] - d["free"]
            assert d["reclaimable"] == sum(f["size"] for f in d["files"] if f["deletable"])


def test_storage_text_shows_every_unit_and_what_is_in_use(site: tuple[Path, SimFleet]) -> None:
    repo, _ = site
    r = run(repo, "storage", "fw-dc-pair")
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert out.splitlines()[0] == "fw-dc-pair: active-standby, 2 members shown"
    assert "primary (active)" in out and "secondary (standby)" in out
    assert "running: disk0:/asa916-smp-k8.bin" in out
    lines = [line.split() for line in out.splitlines()]
    assert ["asa916-smp-k8.bin", "5505024", "5.2", "MiB", "running,", "boot", "1"] in lines
    assert any(line[:1] == ["asa904-smp-k8.bin"] and line[-1] == "-" for line in lines)
    assert any(line[:1] == ["asdm-741.bin"] and line[-1] == "asdm" for line in lines)
    assert any(line[:1] == ["anyconnect-win-4.9.06037-webdeploy-k9.pkg"] and line[-1] == "webvpn" for line in lines)
    r = run(repo, "storage", "fw-dc-cluster", "--member", "unit-3")
    assert "unit-3 (data)" in r.stdout and "unit-1" not in r.stdout and "disk1:" in r.stdout


def test_storage_errors_are_one_clean_line(site: tuple[Path, SimFleet]) -> None:
    repo, _ = site
    r = run(repo, "storage", "fw-dc-pairr")
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr.strip() == ("error: UNKNOWN_DEVICE device fw-dc-pairr is not in the inventory (did you mean "
                                "fw-dc-pair?) — `reconciler discover` lists the inventory's devices")
    r = run(repo, "storage", "fw-dc-pair", "--member", "tertiary", "--format", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and doc["error"]["code"] == "UNKNOWN_MEMBER" and doc["device"] == "fw-dc-pair"
    r = run(repo, "storage", "fw-dc-pair", env={"RECONCILER_FW_PASSWORD": WRONG})
    assert r.exit_code == 1 and "AUTH_FAILED" in r.stderr and "env:RECONCILER_FW_PASSWORD" in r.stderr
    assert WRONG not in r.stderr


def test_a_transcript_is_written_without_secrets(site: tuple[Path, SimFleet], tmp_path: Path) -> None:
    repo, _ = site
    log = tmp_path / "t.log"
    r = run(repo, "storage", "fw-dc-pair", "--transcript", str(log))
    assert r.exit_code == 0
    text = log.read_text()
    assert "failover exec mate dir disk0:" in text and PASSWORD not in text


# ------------------------------------------------------------------ delete-file


def test_delete_of_a_running_image_is_refused_then_forced(site: tuple[Path, SimFleet]) -> None:
    repo, fleet = site
    r = run(repo, "delete-file", "fw-dc-pair", "disk0:/asa916-smp-k8.bin", "--member", "secondary")
    assert r.exit_code == 1 and r.stdout == ""
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: fw-dc-pair/secondary: FILE_IN_USE refusing to delete: disk0:/asa916-smp-k8.bin "
                           "is the running image and boot line 1 of secondary")
    assert "asa916-smp-k8.bin" in files_on(fleet, "fw-dc-pair", "secondary")
    r = run(repo, "delete-file", "fw-dc-pair", "disk0:/asa916-smp-k8.bin", "--member", "secondary", "--force")
    assert r.exit_code == 0, r.stderr
    assert r.stderr.startswith("warning: disk0:/asa916-smp-k8.bin is the running image and boot line 1 of "
                               "secondary: deleting it anyway (--force)")
    assert r.stdout.startswith("deleted disk0:/asa916-smp-k8.bin (5.2 MiB) on secondary; disk0 now has")
    assert "asa916-smp-k8.bin" not in files_on(fleet, "fw-dc-pair", "secondary")
    assert "asa916-smp-k8.bin" in files_on(fleet, "fw-dc-pair", "primary")


def test_delete_of_a_boot_referenced_image_is_refused_then_forced(site: tuple[Path, SimFleet]) -> None:
    repo, fleet = site
    fleet.apply("fw-branch-02", "put-file", path="disk0:/asa924-lfbff-k8.SPA", size=1 << 20)
    asa = fleet.asa("fw-branch-02")
    asa.running.boot = ["disk0:/asa941-lfbff-k8.SPA", "disk0:/asa924-lfbff-k8.SPA"]
    r = run(repo, "delete-file", "fw-branch-02", "asa924-lfbff-k8.SPA", "--format", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["error"]["code"] == "FILE_IN_USE" and "boot line 2 of fw-branch-02" in doc["error"]["message"]
    assert "remove it from the boot list first" in doc["error"]["hint"]
    r = run(repo, "delete-file", "fw-branch-02", "asa924-lfbff-k8.SPA", "--force", "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] and doc["forced"] and doc["members"][0]["uses"] == ["boot"] and doc["members"][0]["deleted"]
    assert "boot line 2" in doc["warnings"][0] and "warning:" in r.stderr
    assert "asa924-lfbff-k8.SPA" not in files_on(fleet, "fw-branch-02", "fw-branch-02")


def test_delete_an_unused_file_on_every_unit(site: tuple[Path, SimFleet]) -> None:
    repo, fleet = site
    r = run(repo, "delete-file", "fw-dc-cluster", "disk0:/asa923-smp-k8.bin", "--all-members", "--dry-run")
    assert r.exit_code == 0 and r.stdout.count("would delete") == 4
    assert all("asa923-smp-k8.bin" in files_on(fleet, "fw-dc-cluster", f"unit-{i}") for i in range(1, 5))
    r = run(repo, "delete-file", "fw-dc-cluster", "disk0:/asa923-smp-k8.bin", "--all-members")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.count("deleted disk0:/asa923-smp-k8.bin") == 4 and r.stderr == ""
    assert not any("asa923-smp-k8.bin" in files_on(fleet, "fw-dc-cluster", f"unit-{i}") for i in range(1, 5))


# ------------------------------------------------------------------ fetch-file


def test_fetch_from_the_active_works_and_from_the_standby_is_refused(site: tuple[Path, SimFleet],
                                                                    tmp_path: Path) -> None:
    repo, fleet = site
    out = tmp_path / "out"
    out.mkdir()
    r = run(repo, "fetch-file", "fw-dc-pair", "disk0:/csd_3.6.6228-k9.pkg", "-o", str(out), "--member", "secondary")
    assert r.exit_code == 1 and list(out.iterdir()) == []
    assert "secondary is the standby unit: files can be downloaded only from the active unit of a failover pair " \
           "(here primary)" in r.stderr and "--member primary" in r.stderr
    r = run(repo, "fetch-file", "fw-dc-pair", "disk0:/csd_3.6.6228-k9.pkg", "-o", str(out), "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    size = files_on(fleet, "fw-dc-pair", "primary")["csd_3.6.6228-k9.pkg"]
    assert doc["member"] == "primary" and doc["verified"] and doc["size"] == size
    assert (out / "csd_3.6.6228-k9.pkg").stat().st_size == size and [p.name for p in out.iterdir()] == [
        "csd_3.6.6228-k9.pkg"]
    r = run(repo, "fetch-file", "fw-dc-pair", "disk0:/csd_3.6.6228-k9.pkg", "-o", str(out))
    assert r.exit_code == 1 and "FILE_EXISTS" in r.stderr and "--overwrite" in r.stderr
    r = run(repo, "fetch-file", "fw-dc-pair", "disk0:/csd_3.6.6228-k9.pkg", "-o", str(out), "--overwrite")
    assert r.exit_code == 0 and "from primary" in r.stdout and "verified by the device (sha-512)" in r.stdout


# ------------------------------------------------------------------ test-copy


def test_test_copy_reports_a_413_and_a_missing_disk1_per_member(site: tuple[Path, SimFleet]) -> None:
    repo, fleet = site
    fleet.add_fault("fw-dc-cluster", {"kind": "too-large", "max_bytes": 16384, "member": "unit-2"})
    del fleet.asa("fw-dc-cluster").unit("unit-3").disks["disk1"]  # type: ignore[union-attr]
    # no --disk: fw-dc-cluster's install_location is disk1 (desired/devices.yaml)
    r = run(repo, "test-copy", "fw-dc-cluster", "--format", "json")
    assert r.exit_code == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["disk"] == "disk1" and doc["ok"] is False and doc["leftovers"] == []
    got = {m["member"]: (m["status"], m["code"]) for m in doc["members"]}
    assert got == {"unit-1": ("ok", None), "unit-2": ("too-large", "HTTP-413"),
                   "unit-3": ("disk-missing", "INSTALL_LOCATION_MISSING"), "unit-4": ("ok", None)}
    assert probes_left(fleet, "fw-dc-cluster") == []
    r = run(repo, "test-copy", "fw-dc-cluster")
    assert r.exit_code == 1
    lines = [line.split() for line in r.stdout.splitlines()]
    assert lines[0][:4] == ["fw-dc-cluster:", "test", "copy", "of"]
    assert ["unit-2", "data", "too-large", "HTTP-413"] in [x[:4] for x in lines]
    assert ["unit-3", "data", "disk-missing", "INSTALL_LOCATION_MISSING"] in [x[:4] for x in lines]
    assert any(" ".join(x).startswith("unit-2: copies are split into parts of at least 65536 bytes") for x in lines)
    assert r.stdout.rstrip().endswith("2 of 4 member(s) can receive images on disk1")
    assert probes_left(fleet, "fw-dc-cluster") == []


def test_test_copy_on_a_healthy_pair_and_an_explicit_disk(site: tuple[Path, SimFleet]) -> None:
    repo, fleet = site
    r = run(repo, "test-copy", "fw-dc-pair", "--size", "64KiB", "--size", "2MiB")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "probe removed from every member" in r.stdout and "2 of 2 member(s) can receive images on disk0" in r.stdout
    r = run(repo, "test-copy", "fw-dc-cluster", "--disk", "disk0", "--member", "unit-4", "--format", "json")
    doc = json.loads(r.stdout)
    assert r.exit_code == 0 and doc["disk"] == "disk0" and [m["member"] for m in doc["members"]] == ["unit-4"]
    assert probes_left(fleet, "fw-dc-pair") == [] and probes_left(fleet, "fw-dc-cluster") == []
    r = run(repo, "test-copy", "fw-dc-pair", "--size", "lots")
    assert r.exit_code == 2 and "is not a size" in r.stderr


def test_the_device_group_lists_its_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    main(["device", "--help"])  # exit 0: main returns
    out = capsys.readouterr().out
    for name in ("storage", "delete-file", "fetch-file", "test-copy"):
        assert name in out


def test_main_turns_a_refusal_into_exit_1(site: tuple[Path, SimFleet], capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    repo, _ = site
    for k, v in EXAMPLE_ENV.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SystemExit) as e:
        main(["device", "delete-file", "fw-branch-01", "disk0:/asa933-lfbff-k8.SPA", "--repo", str(repo)])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert "FILE_IN_USE" in err and "Traceback" not in err
