"""Fleet files: validation with file:line, semantic checks, dump and reload."""

from pathlib import Path

import pytest
import yaml

from reconciler.errors import ConfigError
from reconciler.sim.fleetfile import dump_fleet, fleet_from_dict, load_fleet_file, parse_size
from reconciler.sim.imagefiles import boots_on, identify
from tests.sim_support import SMALL_FLEET


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "fleet.yaml"
    p.write_text(text)
    return p


def small_doc():
    return yaml.safe_load(SMALL_FLEET.read_text())


def test_schema_errors_name_file_line_and_field(tmp_path):
    text = SMALL_FLEET.read_text().replace("    mode: active-standby", "    mode: hot-standby")
    with pytest.raises(ConfigError) as e:
        load_fleet_file(write(tmp_path, text))
    err = e.value
    assert err.code == "SCHEMA" and err.location.file.endswith("fleet.yaml")
    line = text.splitlines()[err.location.line - 1]
    assert "mode: hot-standby" in line and "devices/1/mode" in str(err)


def test_yaml_syntax_error_has_a_line(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_fleet_file(write(tmp_path, "devices:\n  - name: [unclosed\n"))
    assert e.value.location.line is not None


def test_missing_file_is_a_clean_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the fleet file"):
        load_fleet_file(tmp_path / "nope.yaml")


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["devices"][0]["members"][0].update(running="disk0:/asa941-lfbff-k8.SPA"),
     "running image disk0:/asa941-lfbff-k8.SPA is not on its disk0"),
    (lambda d: d["devices"][0]["members"][0].update(running="disk0:/asdm-741.bin"), "not a system image"),
    (lambda d: d["devices"][1]["members"][0].update(running="disk0:/asdm-741.bin"), "not a system image"),
    (lambda d: d["devices"][1]["members"][1].update(role="active"), "exactly one active"),
    (lambda d: d["devices"][3]["members"][1].update(role="control"), "exactly one control"),
    (lambda d: d["devices"][2]["members"][1].update(failover_groups=[1]), "groups 1 and 2"),
    (lambda d: d["devices"][1]["members"].pop(), "needs 2 member(s)"),
    (lambda d: d["devices"][0]["members"][0]["disks"][0].update(size="8MiB"), "exceed the disk size"),
    (lambda d: d["devices"][0].update(model="PIX-515E"), "not a platform the simulator knows"),
    (lambda d: d["devices"].append(dict(d["devices"][0])), "defined twice"),
    (lambda d: d["devices"][0].update(faults=[{"kind": "transfer-error"}]), "needs `code`"),
])
def test_semantic_errors_name_the_device(mutate, message):
    doc = small_doc()
    mutate(doc)
    with pytest.raises(ConfigError) as e:
        fleet_from_dict(doc, source="fleet.yaml")
    assert message in str(e.value)


def test_a_smp_image_on_a_5506_is_refused():
    doc = small_doc()
    m = doc["devices"][0]["members"][0]
    m["disks"][0]["files"].append({"name": "asa941-smp-k8.bin", "size": 6291456})
    m["running"] = "disk0:/asa941-smp-k8.bin"
    with pytest.raises(ConfigError, match="does not run on ASA5506-X"):
        fleet_from_dict(doc)


def test_dump_and_load_round_trip(tmp_path):
    spec = load_fleet_file(SMALL_FLEET)
    again = load_fleet_file(write(tmp_path, dump_fleet(spec)))
    assert dump_fleet(again) == dump_fleet(spec)
    assert set(again.devices) == set(spec.devices)
    assert again.auth.password == "env:SIM_TEST_PASSWORD"


def test_sizes():
    assert parse_size("128MiB") == 128 << 20 and parse_size("1.5 KiB") == 1536 and parse_size(42) == 42
    with pytest.raises(ValueError):
        parse_size("lots")


@pytest.mark.parametrize("name,type_,version,build", [
    ("asa941-smp-k8.bin", "asa", "9.4(1)", "smp"),
    ("asa916-k8.bin", "asa", "9.1(6)", ""),
    ("asa922-4-smp-k8.bin", "asa", "9.2(2)4", "smp"),
    ("asa9-12-1-smp-k8.bin", "asa", "9.12(1)", "smp"),
    ("asa933-lfbff-k8.SPA", "asa", "9.3(3)", "lfbff"),
    ("cisco-asa-fp2k.9.16.3.SPA", "asa", "9.16(3)", "fp2k"),
    ("cisco-asa-fp1k.9.14.1.15.SPA", "asa", "9.14(1)15", "fp1k"),
    ("asav941.qcow2", "asa", "9.4(1)", "asav"),
    ("asdm-7161.bin", "asdm", "7.16(1)", ""),
    ("asdm-741.bin", "asdm", "7.4(1)", ""),
    ("anyconnect-win-4.10.07073-webdeploy-k9.pkg", "anyconnect", "4.10.07073", ""),
    ("csd_3.6.6249-k9.pkg", "csd", "3.6.6249", ""),
    ("hostscan_4.10.07073-k9.pkg", "hostscan", "4.10.07073", ""),
    ("rdp-plugin-2.1.jar", "plugin", "2.1", ""),
    ("agent-7.3.2.1006-x86_64.rpm", "agent", "7.3.2.1006", ""),
])
def test_image_file_names(name, type_, version, build):
    info = identify(name)
    assert (str(info.type), info.version, info.build) == (type_, version, build)


def test_unknown_names_and_platform_builds():
    assert identify("capture.pcap") is None
    assert boots_on("asa5585", identify("asa916-k8.bin"))  # non-SMP on a 5585 runs (the planner warns)
    assert not boots_on("asa5506x", identify("asa941-smp-k8.bin"))
    assert not boots_on("asa5500", identify("asa941-smp-k8.bin"))
    assert boots_on("fpr2100", identify("cisco-asa-fp2k.9.16.3.SPA"))
