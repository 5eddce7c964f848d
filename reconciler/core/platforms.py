"""Device models, their platform families and what the product supports on them.

Distilled from the seed's supported-platform chapter: legacy ASA 5505-5550 and 5580, ASA 5585,
ASA 5512-X..5555-X, the 5506-X family and 5516-X, ASA-SM, ASAv; Firepower 1000/2000 only in
appliance mode with ASA 9.13(1)+. PIX, FWSM, IPS and routers are never supported. Clustering
exists on 5580 and 5585 only, from 9.0(1). Image upgrades need a source of 7.x or later.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass

from reconciler.core.versions import AsaVersion


@dataclass(frozen=True, slots=True)
class Platform:
    family: str
    smp_preferred: bool = False  # the SMP build is the right one (a non-SMP image only warns)
    cluster_capable: bool = False
    min_version: AsaVersion | None = None  # lowest ASA version the product manages there
    appliance_mode_required: bool = False
    backup_supported: bool = True
    listed_versions: tuple[str, ...] = ()  # the seed's listing of images for the model
    agent: bool = False


@dataclass(frozen=True, slots=True)
class Unsupported:
    reason: str


_LEGACY_LIST = ("9.1(6)", "9.1(5)", "9.1(4)", "9.1(2)", "9.0(4)", "8.4(6)")
_X_LIST = ("9.4(1)", "9.3(3)", "9.3(2)", "9.3(1)", "9.2(3)", "9.2(2)4", "9.2(1)", "9.1(4)",
           "9.1(5)", "9.1(6)", "9.1(2)", "9.0(4)", "8.4(6)")
_5555_LIST = ("9.4(1)", "9.3(3)", "9.3(2)", "9.3(1)", "9.2(3)", "9.2(2)4", "9.2(1)", "9.1(2)",
              "9.0(4)")
_5580_LIST = ("9.1(6)", "9.1(5)", "9.1(4)", "9.1(2)", "9.0(4)", "8.4(6)")
_FPR_MIN = AsaVersion(9, 13, 1)
_SOURCE_MIN = AsaVersion(7, 0, 0)
_ASA5500X = Platform("asa5500x", smp_preferred=True, min_version=_SOURCE_MIN,
                     listed_versions=_X_LIST)
_FPR1000 = Platform("fpr1000", min_version=_FPR_MIN, appliance_mode_required=True,
                    backup_supported=False)
_FPR2100 = Platform("fpr2100", min_version=_FPR_MIN, appliance_mode_required=True,
                    backup_supported=False)

# Every platform family an image may list (schemas/images.schema.json enumerates the same).
FIREWALL_FAMILIES = ("asa5500", "asa5580", "asa5585", "asa5500x", "asa5506x", "asasm", "asav",
                     "fpr1000", "fpr2100")
AGENT_PLATFORMS = ("windows", "linux", "macos")
FAMILIES = FIREWALL_FAMILIES + AGENT_PLATFORMS

# (model glob, platform). Globs are matched case-insensitively against a normalised model name
# ("ASA5585-SSP-20", "ASA5506-X", "FPR-2110", "ASAv30", ...). First match wins.
_MODELS: tuple[tuple[str, Platform | Unsupported], ...] = (
    ("PIX*", Unsupported("PIX firewalls are not supported")),
    ("FWSM*", Unsupported("FWSM blades are not supported")),
    ("IPS*", Unsupported("IPS devices are not supported")),
    ("ASA-CX*", Unsupported("ASA-CX modules are not supported")),
    ("ASA5505*", Platform("asa5500", min_version=_SOURCE_MIN, listed_versions=_LEGACY_LIST)),
    ("ASA5510*", Platform("asa5500", min_version=_SOURCE_MIN, listed_versions=_LEGACY_LIST)),
    ("ASA5520*", Platform("asa5500", min_version=_SOURCE_MIN, listed_versions=_LEGACY_LIST)),
    ("ASA5540*", Platform("asa5500", min_version=_SOURCE_MIN, listed_versions=_LEGACY_LIST)),
    ("ASA5550*", Platform("asa5500", min_version=_SOURCE_MIN, listed_versions=_LEGACY_LIST)),
    ("ASA5580*", Platform("asa5580", smp_preferred=True, cluster_capable=True,
                          min_version=_SOURCE_MIN, listed_versions=_5580_LIST)),
    ("ASA5585*", Platform("asa5585", smp_preferred=True, cluster_capable=True,
                          min_version=_SOURCE_MIN, listed_versions=_X_LIST)),
    # `show version` prints "ASA5545" where the inventory says "ASA5545-X": -X is optional.
    ("ASA5555*", Platform("asa5500x", smp_preferred=True, min_version=_SOURCE_MIN,
                          listed_versions=_5555_LIST)),
    ("ASA5512*", _ASA5500X),
    ("ASA5515*", _ASA5500X),
    ("ASA5525*", _ASA5500X),
    ("ASA5545*", _ASA5500X),
    ("ASA5506[HW]*", Platform("asa5506x", min_version=_SOURCE_MIN, listed_versions=("9.4(1)",))),
    ("ASA5506*", Platform("asa5506x", min_version=_SOURCE_MIN,
                          listed_versions=("9.4(1)", "9.3(3)", "9.3(2)"))),
    ("ASA5508*", Platform("asa5506x", min_version=_SOURCE_MIN)),
    ("ASA5516*", Platform("asa5506x", min_version=_SOURCE_MIN, listed_versions=("9.4(1)",))),
    ("ASA-SM*", Platform("asasm", min_version=_SOURCE_MIN)),
    ("WS-SVC-ASA-SM*", Platform("asasm", min_version=_SOURCE_MIN)),
    ("ASAV*", Platform("asav", min_version=_SOURCE_MIN,
                       listed_versions=("9.3(1)", "9.3(2)", "9.4(1)"))),
    # Firepower models the seed lists (appliance mode, ASA 9.13(1)+), and no others
    *((f"FPR-{m}*", _FPR1000) for m in ("1010", "1120", "1140", "1150")),
    *((f"FPR-{m}*", _FPR2100) for m in ("2110", "2120", "2130", "2140")),
    ("FPR*", Unsupported("this Firepower model is not supported; Firepower 1000/2000 in appliance "
                         "mode only")),
    ("ISR*", Unsupported("routers are not supported")),
    ("ASR*", Unsupported("routers are not supported")),
    ("CISCO[0-9]*", Unsupported("routers are not supported")),
    ("C[0-9][0-9][0-9]*", Unsupported("routers are not supported")),
)

_AGENT_PLATFORMS = frozenset(AGENT_PLATFORMS)


def normalise_model(model: str) -> str:
    s = model.strip().upper().replace(" ", "")
    s = re.sub(r"^(CISCO)?ASA-?(?=\d)", "ASA", s)  # "ASA 5585", "ASA-5585" -> "ASA5585"
    s = re.sub(r"^(CISCO)?FIREPOWER-?", "FPR-", s)
    s = re.sub(r"^FPR(?=\d)", "FPR-", s)
    return s


@functools.lru_cache(maxsize=4096)
def platform_of(model: str) -> Platform | Unsupported:
    """The platform of a device model, or why it is not supported."""
    low = model.strip().lower()
    if low in _AGENT_PLATFORMS:
        return Platform(low, agent=True)
    norm = normalise_model(model)
    for glob, info in _MODELS:
        if fnmatch.fnmatchcase(norm, glob.upper()):
            return info
    return Unsupported(f"unknown device model {model!r}")


def source_version_supported(platform: Platform, running: AsaVersion) -> str | None:
    """Why the running version rules out a managed upgrade, or None when it is fine."""
    if platform.min_version is not None and running < platform.min_version:
        if platform.appliance_mode_required:
            return f"Firepower devices need ASA {platform.min_version} or later (runs {running})"
        return f"image upgrades need a source of 7.x or later (runs {running})"
    return None
