"""What a file on a simulated disk is, judged from its name.

A real ASA reads the version from the image header; the simulator's images are synthetic bytes,
so it reads Cisco's file-naming conventions instead (`asa941-smp-k8.bin` is 9.4(1),
`cisco-asa-fp2k.9.16.3.SPA` is 9.16(3), `asdm-7161.bin` is 7.16(1), ...). A fleet file can state a
file's type and version explicitly when a name does not follow the conventions.
`boots_on` says whether a system image runs on a platform family, so a 5506-X refuses an SMP
image at boot the way the real ROM monitor does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.core.model import ImageType


@dataclass(frozen=True, slots=True)
class ImageFileInfo:
    type: ImageType
    version: str
    build: str = ""  # system images: "smp", "lfbff", "fp2k", "fp1k", "asav", "" (single-core)


def _asa(major: str, minor: str, maint: str, interim: str | None) -> str:
    v = f"{int(major)}.{int(minor)}({int(maint)})"
    return v + (str(int(interim)) if interim else "")


_ASA_CONDENSED = re.compile(r"^asa(\d)(\d)(\d)(?:-(\d+))?(?:-(smp|lfbff|mint))?-k[89]\.(?:bin|SPA)$", re.I)
_ASA_DASHED = re.compile(r"^asa(\d+)-(\d+)-(\d+)(?:-(\d+))?(?:-(smp|lfbff))?-k[89]\.(?:bin|SPA)$", re.I)
_FPR = re.compile(r"^cisco-asa-(fp[12]k)\.(\d+)\.(\d+)\.(\d+)(?:\.(\d+))?\.SPA$", re.I)
_ASAV_CONDENSED = re.compile(r"^asav(\d)(\d)(\d)(?:-(\d+))?\.(?:qcow2|zip|vhd|ova|vmdk)$", re.I)
_ASAV_DASHED = re.compile(r"^asav(\d+)-(\d+)-(\d+)(?:-(\d+))?\.(?:qcow2|zip|vhd|ova|vmdk)$", re.I)
_ASDM = re.compile(r"^asdm-(\d)(\d{1,2})(\d)(?:-(\d+))?\.bin$", re.I)
_ANYCONNECT = re.compile(r"^(?:anyconnect|cisco-secure-client)-[\w-]*?(\d+\.\d+\.\d+)-[\w.-]*\.pkg$", re.I)
_CSD = re.compile(r"^csd_(\d+(?:\.\d+)+)(?:-k9)?\.pkg$", re.I)
_HOSTSCAN = re.compile(r"^hostscan_(\d+(?:\.\d+)+)(?:-k9)?\.pkg$", re.I)
_PLUGIN = re.compile(r"^[\w]+-plugin-(\d+(?:\.\d+)*)\.jar$", re.I)
_AGENT = re.compile(r"^agent-(\d+\.\d+\.\d+\.\d+)-[\w.-]+\.(?:msi|rpm|deb|pkg|exe)$", re.I)


def identify(name: str) -> ImageFileInfo | None:
    """The image type and version a file name announces, or None for other files."""
    base = name.rsplit("/", 1)[-1]
    for rx in (_ASA_CONDENSED, _ASA_DASHED):
        m = rx.match(base)
        if m:
            return ImageFileInfo(ImageType.ASA, _asa(m[1], m[2], m[3], m[4]), (m[5] or "").lower())
    m = _FPR.match(base)
    if m:
        return ImageFileInfo(ImageType.ASA, _asa(m[2], m[3], m[4], m[5]), m[1].lower())
    for rx in (_ASAV_CONDENSED, _ASAV_DASHED):
        m = rx.match(base)
        if m:
            return ImageFileInfo(ImageType.ASA, _asa(m[1], m[2], m[3], m[4]), "asav")
    m = _ASDM.match(base)
    if m:
        return ImageFileInfo(ImageType.ASDM, _asa(m[1], m[2], m[3], m[4]))
    for rx, t in ((_ANYCONNECT, ImageType.ANYCONNECT), (_CSD, ImageType.CSD),
                  (_HOSTSCAN, ImageType.HOSTSCAN), (_PLUGIN, ImageType.PLUGIN),
                  (_AGENT, ImageType.AGENT)):
        m = rx.match(base)
        if m:
            return ImageFileInfo(t, m[1])
    return None


# Which system-image builds each platform family boots.
_BOOTS: dict[str, tuple[str, ...]] = {
    "asa5500": ("",),
    "asa5580": ("smp", ""),
    "asa5585": ("smp", ""),
    "asa5500x": ("smp", ""),
    "asasm": ("smp", ""),
    "asa5506x": ("lfbff",),
    "asav": ("asav",),
    "fpr2100": ("fp2k",),
    "fpr1000": ("fp1k",),
}


def boots_on(family: str, info: ImageFileInfo) -> bool:
    return info.type is ImageType.ASA and info.build in _BOOTS.get(family, ("smp", ""))
