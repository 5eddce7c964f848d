"""Model -> platform family, SMP preference and the seed's supported / unsupported device lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.core.platforms import (
    AGENT_PLATFORMS,
    FAMILIES,
    Platform,
    Unsupported,
    normalise_model,
    platform_of,
    source_version_supported,
)
from reconciler.core.versions import AsaVersion

ROOT = Path(__file__).resolve().parents[2]

# The seed's list of supported devices ("Image Manager supports the following devices").
SUPPORTED = [
    ("ASA5505", "asa5500", False), ("ASA5510", "asa5500", False), ("ASA5520", "asa5500", False),
    ("ASA5540", "asa5500", False), ("ASA5550", "asa5500", False), ("ASA5580-40", "asa5580", True),
    ("ASA5585-SSP-10", "asa5585", True), ("ASA5585-SSP-60", "asa5585", True),
    ("ASA5512-X", "asa5500x", True), ("ASA5515-X", "asa5500x", True),
    ("ASA5525-X", "asa5500x", True), ("ASA5545-X", "asa5500x", True),
    ("ASA5555-X", "asa5500x", True), ("ASA-SM", "asasm", False),
    ("WS-SVC-ASA-SM1-K9", "asasm", False), ("ASA5506-X", "asa5506x", False),
    ("ASA5506H-X", "asa5506x", False), ("ASA5506W-X", "asa5506x", False),
    ("ASA5508-X", "asa5506x", False), ("ASA5516-X", "asa5506x", False),
    ("ASAv", "asav", False), ("ASAv30", "asav", False),
    ("FPR-1010", "fpr1000", False), ("FPR-1120", "fpr1000", False),
    ("FPR-1140", "fpr1000", False), ("FPR-1150", "fpr1000", False),
    ("FPR-2110", "fpr2100", False), ("FPR-2120", "fpr2100", False),
    ("FPR-2130", "fpr2100", False), ("FPR-2140", "fpr2100", False),
]


@pytest.mark.parametrize("model,family,smp", SUPPORTED)
def test_supported_models(model: str, family: str, smp: bool) -> None:
    p = platform_of(model)
    assert isinstance(p, Platform), p
    assert p.family == family
    assert p.smp_preferred is smp
    assert p.family in FAMILIES


@pytest.mark.parametrize("model", [
    "PIX-515E", "PIX 535", "FWSM", "FWSM-3.2", "IPS-4240", "IPS4345", "ASA-CX", "ISR4331",
    "ASR1001-X", "CISCO2911", "C1111-8P", "FPR-4110", "FPR-9300", "FPR-1020", "FPR-2150",
    "ASA5542-X", "Juniper SRX300", "", "   ",
])
def test_unsupported_models_say_why(model: str) -> None:
    p = platform_of(model)
    assert isinstance(p, Unsupported)
    assert p.reason


def test_unsupported_reasons_name_the_kind() -> None:
    assert "PIX" in platform_of("PIX-525").reason  # type: ignore[union-attr]
    assert "FWSM" in platform_of("FWSM").reason  # type: ignore[union-attr]
    assert "router" in platform_of("ISR4451").reason  # type: ignore[union-attr]
    assert "appliance" in platform_of("FPR-4110").reason  # type: ignore[union-attr]
    assert "unknown device model" in platform_of("Frobnicator 9000").reason  # type: ignore[union-attr]


@pytest.mark.parametrize("written,canonical", [
    ("ASA 5585-SSP-20", "ASA5585-SSP-20"), ("asa-5516-x", "ASA5516-X"),
    ("Cisco ASA5545-X", "ASA5545-X"), ("Firepower 2110", "FPR-2110"), ("FPR2110", "FPR-2110"),
    ("firepower-1120", "FPR-1120"), ("ASAv30", "ASAV30"),
])
def test_model_spellings_normalise(written: str, canonical: str) -> None:
    assert normalise_model(written) == canonical
    assert platform_of(written) == platform_of(canonical)


def test_show_version_hardware_names_without_x_suffix() -> None:
    # `show version` says "Hardware: ASA5545"; the inventory usually says ASA5545-X
    assert platform_of("ASA5545") == platform_of("ASA5545-X")
    assert platform_of("ASA5516").family == "asa5506x"  # type: ignore[union-attr]


def test_clustering_only_on_5580_and_5585() -> None:
    capable = {m for m, _, _ in SUPPORTED if platform_of(m).cluster_capable}  # type: ignore[union-attr]
    assert capable == {"ASA5580-40", "ASA5585-SSP-10", "ASA5585-SSP-60"}


def test_firepower_rules() -> None:
    p = platform_of("FPR-2110")
    assert isinstance(p, Platform)
    assert p.appliance_mode_required and not p.backup_supported
    assert p.min_version == AsaVersion(9, 13, 1)
    assert "9.13(1)" in (source_version_supported(p, AsaVersion.parse("9.12(4)")) or "")
    assert source_version_supported(p, AsaVersion.parse("9.14(1)")) is None


def test_source_must_be_7x_or_later() -> None:
    p = platform_of("ASA5520")
    assert isinstance(p, Platform)
    assert "7.x" in (source_version_supported(p, AsaVersion.parse("6.3(5)")) or "")
    assert source_version_supported(p, AsaVersion.parse("7.0(1)")) is None


def test_seed_listings_per_model() -> None:
    p5555 = platform_of("ASA5555-X")
    p5545 = platform_of("ASA5545-X")
    assert isinstance(p5555, Platform) and isinstance(p5545, Platform)
    assert "9.1(5)" in p5545.listed_versions and "9.1(5)" not in p5555.listed_versions
    assert platform_of("ASA5506W-X").listed_versions == ("9.4(1)",)  # type: ignore[union-attr]
    assert set(platform_of("ASAv10").listed_versions) == {"9.3(1)", "9.3(2)", "9.4(1)"}  # type: ignore[union-attr]
    for model, _, _ in SUPPORTED:
        for v in platform_of(model).listed_versions:  # type: ignore[union-attr]
            AsaVersion.parse(v)


@pytest.mark.parametrize("name", AGENT_PLATFORMS)
def test_agent_platforms(name: str) -> None:
    p = platform_of(name)
    assert isinstance(p, Platform) and p.agent and p.family == name
    assert platform_of(name.upper()) == p


def test_schema_lists_exactly_the_known_families() -> None:
    schema = json.loads((ROOT / "schemas" / "images.schema.json").read_text())
    enum = schema["$defs"]["image"]["properties"]["platforms"]["items"]["enum"]
    assert sorted(enum) == sorted(FAMILIES)
