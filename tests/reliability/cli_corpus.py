"""Real-looking ASA CLI output to mutate: the recorded fixtures plus what the simulated twin of
the bundled example fleet prints for every command the driver parses, on every unit."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from reconciler.drivers import cli_parsers as P
from reconciler.sim.asa_cli import run_exec
from reconciler.sim.clock import ScaledClock
from reconciler.sim.example import load_twin
from reconciler.sim.fleet import SimCredentials, SimFleet
from reconciler.sim.model import SimAsa, Unit
from tests.conftest import FIXTURES, PROJECT_ROOT

# Every public function of cli_parsers, with the commands whose output it reads. The test checks
# this table against the module, so a new parser cannot escape the fuzzer.
PARSERS: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "cli_error": (P.cli_error, ("show version", "delete /noconfirm disk0:/nope.bin", "bogus")),
    "canonical_model": (P.canonical_model, ()),
    # a batched answer split back into its commands' outputs (three commands expected here)
    "split_batch": (lambda text: P.split_batch(text, 3), ("show version",)),
    "parse_show_version": (P.parse_show_version, ("show version",)),
    "parse_show_failover": (P.parse_show_failover, ("show failover",)),
    "parse_show_cluster_info": (P.parse_show_cluster_info, ("show cluster info",)),
    "parse_cluster_exec": (P.parse_cluster_exec, ("cluster exec show version",
                                                  "cluster exec dir disk0:")),
    "disk_absent": (P.disk_absent, ("dir disk1:", "dir disk9:")),
    "parse_dir": (P.parse_dir, ("dir disk0:", "dir disk1:")),
    "parse_show_file_systems": (P.parse_show_file_systems, ("show file systems",)),
    "parse_show_bootvar": (P.parse_show_bootvar, ("show bootvar",)),
    "parse_show_asdm_image": (P.parse_show_asdm_image, ("show asdm image",)),
    "parse_show_mode": (P.parse_show_mode, ("show mode",)),
    "parse_show_context": (P.parse_show_context, ("show context",)),
    "parse_show_configuration_session": (P.parse_show_configuration_session,
                                         ("show configuration session",)),
    "parse_show_webvpn_anyconnect": (P.parse_show_webvpn_anyconnect, ("show webvpn anyconnect",)),
    "parse_webvpn_package_version": (P.parse_webvpn_package_version,
                                     ("show webvpn csd", "show webvpn hostscan")),
    "parse_show_fxos_mode": (P.parse_show_fxos_mode, ("show fxos mode",)),
    "parse_verify": (P.parse_verify, ("verify /sha-512 {image}", "verify /md5 {image}",
                                      "verify {image}")),
    "parse_bytes_copied": (P.parse_bytes_copied, ("copy /noconfirm {image} disk0:/backup.bin",)),
    "parse_boot_system_lines": (P.parse_boot_system_lines, ("show running-config boot system",)),
    "uptime_seconds": (P.uptime_seconds, ()),
}

# Outputs for the functions that take a value out of another command's output.
_EXTRA = {
    "canonical_model": ["ASA5506", "ASA5516W", "ASA5585-SSP-20", "FPR-2110", " asa5545 ", ""],
    "uptime_seconds": ["fw up 45 days 3 hours", "2 years 1 week 3 days 4 hours 5 mins 6 secs",
                       "134 secs", "0 secs", ""],
}
_FIXTURE_FOR = {
    "cluster_exec_dir.txt": "parse_cluster_exec",
    "show_cluster_info_913.txt": "parse_show_cluster_info",
    "show_context.txt": "parse_show_context",
    "show_failover_aa.txt": "parse_show_failover",
    "show_failover_as.txt": "parse_show_failover",
    "show_version_5506_next_reload.txt": "parse_show_version",
    "show_version_5585_smp.txt": "parse_show_version",
    "show_webvpn_anyconnect.txt": "parse_show_webvpn_anyconnect",
}


@functools.cache
def corpus() -> dict[str, tuple[str, ...]]:
    """parser name -> distinct real-looking outputs it is meant to read."""
    out: dict[str, set[str]] = {name: set(_EXTRA.get(name, ())) for name in PARSERS}
    for fixture, name in _FIXTURE_FOR.items():
        out[name].add((FIXTURES / "cli" / fixture).read_text())
    spec, _ = load_twin(PROJECT_ROOT)
    fleet = SimFleet(spec, SimCredentials("admin", "corpus-password", "corpus-token"),
                     ScaledClock(1000.0))
    for dev in fleet.devices.values():
        if not isinstance(dev, SimAsa):
            continue
        for unit in dev.units:
            image = unit.running_image or _any_file(unit)
            for name, (_, commands) in PARSERS.items():
                for command in commands:
                    text = run_exec(dev, unit, command.format(image=image), fleet.now())
                    out[name].add(text)
                    if name == "parse_show_version":
                        v = P.parse_show_version(text)
                        out["canonical_model"].add(v.model)
                        out["uptime_seconds"].add(v.uptime or "")
    return {name: tuple(sorted(texts)) for name, texts in out.items()}


def _any_file(unit: Unit) -> str:
    for disk in unit.disks.values():
        for f in disk.files.values():
            return f"{disk.name}:/{f.name}"
    return "disk0:/missing.bin"


def corpus_size() -> int:
    return sum(len(v) for v in corpus().values())

