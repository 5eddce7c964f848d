"""The pure CLI parsers on real-looking ASA output (tests/fixtures/cli) and on edge cases."""

from pathlib import Path

import pytest

from reconciler.drivers import cli_parsers as P

CLI = Path(__file__).parent.parent / "fixtures" / "cli"


def fixture(name: str) -> str:
    return (CLI / name).read_text()


def test_show_version_5585_smp():
    v = P.parse_show_version(fixture("show_version_5585_smp.txt"))
    assert v.software_version == "9.1(6)"
    assert v.model == "ASA5585-SSP-20" and v.ram_mb == 12288
    assert v.serial == "JAF1547ABCD"
    assert v.system_image == "disk0:/asa916-smp-k8.bin"
    assert v.device_manager_version == "7.4(1)"
    assert v.hostname == "fw-dc-pair" and P.uptime_seconds(v.uptime) == 187 * 86400 + 4 * 3600
    assert v.config_register == "0x1"


def test_show_version_5506_prints_no_x_and_a_pending_register():
    v = P.parse_show_version(fixture("show_version_5506_next_reload.txt"))
    assert v.model == "ASA5506-X"  # the CLI says ASA5506; the platform table knows ASA5506-X
    assert v.config_register == "0x2101"  # the value the next reload uses
    assert v.platform_os_version == "1.1.1(160)"
    assert P.uptime_seconds(v.uptime) == 134


def test_canonical_model_leaves_other_models_alone():
    assert P.canonical_model("ASA5506W") == "ASA5506W-X"
    assert P.canonical_model("ASA5520") == "ASA5520"
    assert P.canonical_model("FPR-2110") == "FPR-2110"


def test_show_failover_active_standby_seen_from_the_secondary():
    f = P.parse_show_failover(fixture("show_failover_as.txt"))
    assert f.enabled and not f.active_active
    assert (f.this_unit, f.this_state) == ("secondary", "Active")
    assert (f.other_unit, f.other_state) == ("primary", "Cold Standby")
    assert (f.ours_version, f.mate_version) == ("9.2(3)", "9.1(6)")
    assert f.mate_serial == "JAF1547ABCD"
    assert f.other_detected


def test_show_failover_active_active_groups():
    f = P.parse_show_failover(fixture("show_failover_aa.txt"))
    assert f.active_active and f.this_unit == "primary"
    assert [(g.group, g.this_state, g.other_state) for g in f.groups] == [
        (1, "Active", "Standby Ready"), (2, "Standby Ready", "Active")]


def test_show_failover_off():
    f = P.parse_show_failover("Failover Off\nFailover unit Primary\nFailover LAN Interface: not Configured\n")
    assert not f.enabled and f.this_unit == "primary"


def test_show_cluster_info_new_terms_and_extra_fields():
    c = P.parse_show_cluster_info(fixture("show_cluster_info_913.txt"))
    assert c.enabled and c.name == "dc-cluster"
    assert c.local.name == "B" and c.local.is_control and c.control is c.local
    a = c.unit("A")
    assert a.is_data and not a.local and a.unit_id == 0 and a.site_id == 1
    assert a.ccl_ip == "10.10.0.1" and a.ccl_mac == "00a7.42d4.bb0f" and a.serial == "JAD22310ABD"


def test_show_cluster_info_old_terms_and_disabled():
    text = fixture("show_cluster_info_913.txt").replace("CONTROL_NODE", "MASTER").replace("DATA_NODE", "SLAVE")
    c = P.parse_show_cluster_info(text)
    assert c.control.name == "B" and c.unit("A").is_data
    assert not P.parse_show_cluster_info("Clustering is not enabled\n").enabled
    assert not P.parse_show_cluster_info("ERROR: % Invalid input detected at '^' marker.").enabled
    assert not P.parse_show_cluster_info("Cluster dc: Off\n").enabled


def test_cluster_exec_dir_per_unit_with_both_free_formats():
    parts = P.parse_cluster_exec(fixture("cluster_exec_dir.txt"))
    assert [(p.unit, p.local) for p in parts] == [("A", True), ("B", False)]
    a, b = (P.parse_dir(p.text) for p in parts)
    assert [e.name for e in a.files] == ["asa941-smp-k8.bin", "asdm-741.bin"]
    assert [e.name for e in a.entries if e.is_dir] == ["log"]
    assert a.free == 3811205120 and b.free == 4081283072 and b.total == 4118732800


def test_dir_of_an_absent_disk():
    text = "%Error opening disk1:/ (No such device)"
    assert P.disk_absent(text)
    with pytest.raises(P.CliParseError):
        P.parse_dir(text)


def test_show_file_systems():
    fs = P.parse_show_file_systems(
        "File Systems:\n\n      Size(b)       Free(b)      Type  Flags  Prefixes\n"
        "*  4118732800    3811205120      disk     rw   disk0: flash:\n"
        "   2003787776    2003787776      disk     rw   disk1:\n"
        "            -             -   network     rw   tftp:\n")
    assert [(f.disk, f.size, f.default) for f in fs if f.disk] == [("disk0", 4118732800, True),
                                                                   ("disk1", 2003787776, False)]


def test_show_bootvar_saved_and_running_lists():
    b = P.parse_show_bootvar("\nBOOT variable = disk0:/asa941-smp-k8.bin;disk0:/asa933-smp-k8.bin\n"
                             "Current BOOT variable = disk0:/asa941-smp-k8.bin\nCONFIG_FILE variable = \n")
    assert b.boot == ("disk0:/asa941-smp-k8.bin", "disk0:/asa933-smp-k8.bin")
    assert b.current_boot == ("disk0:/asa941-smp-k8.bin",)
    assert P.parse_show_bootvar("BOOT variable =\n").boot == ()


def test_an_empty_boot_variable_does_not_swallow_the_next_line():
    # regression: `=\s*(.*)$` read across the line end and took the next line for the value
    b = P.parse_show_bootvar("BOOT variable = \nCurrent BOOT variable = disk0:/asa941-smp-k8.bin\n"
                             "CONFIG_FILE variable = \n")
    assert b.boot == () and b.current_boot == ("disk0:/asa941-smp-k8.bin",) and b.config_file == ""
    assert P.parse_boot_system_lines("boot system\nboot system disk0:/a.bin\n") == ("disk0:/a.bin",)


def test_numbers_must_be_plain_and_sane():
    text = "Directory of disk0:/\n\n1 bytes total (" + "9" * 30 + " bytes free)\n"
    with pytest.raises(P.CliParseError) as e:
        P.parse_dir(text)
    assert "not a plain count" in str(e.value)
    c = P.parse_show_cluster_info('Cluster dc: On\n  This is "A" in state CONTROL_NODE\n    ID : \u00b2\n')
    assert c.units[0].unit_id is None  # a garbled optional field is left unknown
    assert P.uptime_seconds("fw up 3 \u017fecs") is None
    assert P.uptime_seconds("2 days 3 HOURS") == 2 * 86400 + 3 * 3600


def test_case_insensitive_words_are_ascii():
    # regression (found by fuzzing the driver): "s\u0130ngle" matched `single` case-insensitively
    # and lower-cased to a string that is no ContextMode
    with pytest.raises(P.CliParseError):
        P.parse_show_mode("Security context mode: s\u0130ngle\n")
    assert P.parse_show_mode("Security context mode: SINGLE\n") == "single"


def test_anyconnect_header_without_a_version_is_skipped():
    text = ("1. disk0:/broken.pkg 1 dyn-regex=/Windows/\n  CISCO STC win2k+\n"
            "2. disk0:/anyconnect-win-4.10.07073-webdeploy-k9.pkg 2 dyn-regex=/Windows/\n"
            "  CISCO STC win2k+\n  4,10,07073\n\n2 AnyConnect Client(s) installed\n")
    assert [(a.order, a.path, a.version) for a in P.parse_show_webvpn_anyconnect(text)] == [
        (2, "disk0:/anyconnect-win-4.10.07073-webdeploy-k9.pkg", "4.10.07073")]


def test_asdm_image_mode_context():
    assert P.parse_show_asdm_image("\nDevice Manager image file, disk0:/asdm-7161.bin\n") == "disk0:/asdm-7161.bin"
    assert P.parse_show_asdm_image("Device Manager image file not set\n") is None
    assert P.parse_show_mode("Security context mode: multiple \n") == "multiple"
    ctx = P.parse_show_context(fixture("show_context.txt"))
    assert [(c.name, c.admin, c.mode) for c in ctx] == [
        ("admin", True, "Routed"), ("ctx-a", False, "Routed"), ("ctx-b", False, "Transparent")]


def test_configuration_sessions():
    assert P.parse_show_configuration_session("There are no active sessions\n") == ()
    text = ("There are 2 active sessions\n\nSession Name        Status          Last Access\n"
            "acl-4711            Un-committed    10:02:13 UTC Mar 4 2024\n"
            "obj-cleanup         Committed       09:00:00 UTC Mar 4 2024\n")
    assert P.parse_show_configuration_session(text) == ("acl-4711",)
    # 8.4 has no configuration sessions: no pending changes, not a failure
    assert P.parse_show_configuration_session("ERROR: % Invalid input detected at '^' marker.") == ()


def test_webvpn_versions():
    ac = P.parse_show_webvpn_anyconnect(fixture("show_webvpn_anyconnect.txt"))
    assert [(a.order, a.version) for a in ac] == [(1, "4.10.07073"), (2, "4.9.06037")]
    assert P.parse_show_webvpn_anyconnect("No AnyConnect Client images are configured\n") == ()
    assert P.parse_webvpn_package_version("Secure Desktop version 3.6.6249 is currently installed and enabled.") == "3.6.6249"
    assert P.parse_webvpn_package_version("Hostscan is not enabled.") is None
    assert P.parse_show_fxos_mode("Mode is currently set to appliance\n") == "appliance"


def test_verify_and_copy_answers():
    r = P.parse_verify("!!!!!!!\nDone!\nverify /SHA-512 (disk0:/asa941-smp-k8.bin) = ABCDEF0123\n")
    assert (r.algorithm, r.path, r.digest) == ("sha-512", "disk0:/asa941-smp-k8.bin", "abcdef0123")
    with pytest.raises(P.CliParseError) as e:
        P.parse_verify("%Error opening disk0:/x (No such file or directory)")
    assert "No such file" in str(e.value)
    assert P.parse_bytes_copied("Writing file disk0:/a...\n!!!\n5767168 bytes copied in 2.340 secs\n") == 5767168


def test_cli_error_detection():
    assert P.cli_error("Building configuration...\n[OK]\n") is None
    assert P.cli_error("boot system disk9:/x\n^\nERROR: % Invalid input detected at '^' marker.").startswith("ERROR:")
    assert P.cli_error("%Error copying disk0:/a (No space left on device)").startswith("%Error")


@pytest.mark.parametrize("text", ["", "garbage", "Hardware: x"])
def test_parsers_refuse_what_they_do_not_understand(text):
    with pytest.raises(P.CliParseError):
        P.parse_show_version(text)
    with pytest.raises(P.CliParseError):
        P.parse_show_failover(text)


def test_a_batched_answer_splits_into_what_each_command_alone_answers():
    outs = [fixture("show_version_5585_smp.txt"), "\nBOOT variable = disk0:/a.bin\n", "", "Failover Off\n"]
    joined = "".join(o.rstrip("\n") + "\n" + ("14:23:01.499 UTC Tue Jun 4 2024\n" if i < len(outs) - 1 else "")
                     for i, o in enumerate(outs))
    assert P.split_batch(joined, 4) == [o.rstrip("\n") + "\n" for o in outs]
    # an unsynchronised clock prints a leading * (or .)
    assert P.split_batch("a\n*08:00:00.000 JST Mon Jan 15 2024\nb\n", 2) == ["a\n", "b\n"]


def test_a_batched_answer_that_does_not_split_exactly_is_refused():
    sep = "14:23:01.499 UTC Tue Jun 4 2024\n"
    assert P.split_batch("a\n" + sep + "b\n", 3) is None  # the device stopped part-way
    assert P.split_batch("a\n" + sep + sep + "b\n" + sep, 3) is None  # one separator too many
    assert P.split_batch("a 14:23:01.499 UTC Tue Jun 4 2024\nb\n", 2) is None  # not a line of its own
