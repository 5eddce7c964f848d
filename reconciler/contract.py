"""The public contract: finding codes, step actions and exit codes.

This is the one place that defines them. Schemas (`schemas/plan.schema.json`) and docs
(`docs/contract.md`) are generated from this module by `reconciler contract --write`, and a test
checks that the checked-in copies match, so the contract cannot drift silently.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class CodeInfo:
    severity: Severity
    meaning: str
    action: str  # what the operator should do about it


class FindingCode(enum.StrEnum):
    """Every code that `validate` or `plan` can report. Severity and advice live in FINDINGS."""

    # -- loading / validation of the desired-state repository (always errors) --
    YAML_SYNTAX = "YAML_SYNTAX"
    YAML_LIMIT = "YAML_LIMIT"
    SCHEMA = "SCHEMA"
    DUPLICATE_NAME = "DUPLICATE_NAME"
    UNKNOWN_IMAGE = "UNKNOWN_IMAGE"
    UNKNOWN_BUNDLE = "UNKNOWN_BUNDLE"
    UNKNOWN_DEVICE = "UNKNOWN_DEVICE"
    INLINE_SECRET = "INLINE_SECRET"
    BAD_VERSION = "BAD_VERSION"
    UNSAFE_PATH = "UNSAFE_PATH"
    NO_COMPATIBLE_IMAGE = "NO_COMPATIBLE_IMAGE"
    AMBIGUOUS_TARGET = "AMBIGUOUS_TARGET"
    FILE_ERROR = "FILE_ERROR"
    # -- planning errors (block the device) --
    DISK_SPACE = "DISK_SPACE"
    INSTALL_LOCATION_MISSING = "INSTALL_LOCATION_MISSING"
    PENDING_CONFIG = "PENDING_CONFIG"
    STANDBY_UNREACHABLE = "STANDBY_UNREACHABLE"
    STANDBY_NOT_READY = "STANDBY_NOT_READY"
    ACTIVE_ACTIVE = "ACTIVE_ACTIVE"
    CLUSTER_DOWNGRADE = "CLUSTER_DOWNGRADE"
    CLUSTER_PLATFORM = "CLUSTER_PLATFORM"
    IMAGE_NOT_IN_REPOSITORY = "IMAGE_NOT_IN_REPOSITORY"
    IMAGE_CHECKSUM = "IMAGE_CHECKSUM"
    BUNDLE_SYSTEM_IMAGES = "BUNDLE_SYSTEM_IMAGES"
    UNSUPPORTED_DEVICE = "UNSUPPORTED_DEVICE"
    UNSUPPORTED_IMAGE = "UNSUPPORTED_IMAGE"
    CONTEXT_IMAGE_TYPE = "CONTEXT_IMAGE_TYPE"
    BACKUP_NOT_SUPPORTED = "BACKUP_NOT_SUPPORTED"
    CONFIG_REGISTER = "CONFIG_REGISTER"
    DEVICE_STATE = "DEVICE_STATE"
    CONFLICTING_TARGETS = "CONFLICTING_TARGETS"
    DEVICE_UNREACHABLE = "DEVICE_UNREACHABLE"
    NOT_OBSERVED = "NOT_OBSERVED"
    NOT_CONVERGING = "NOT_CONVERGING"
    DEVICE_LOCKED = "DEVICE_LOCKED"
    # -- warnings (never block) --
    RAM_LOW = "RAM_LOW"
    IMAGE_PLATFORM = "IMAGE_PLATFORM"
    VERSION_UNSUPPORTED = "VERSION_UNSUPPORTED"
    DOWNGRADE = "DOWNGRADE"
    SAME_VERSION = "SAME_VERSION"
    VPN_SHARED_POLICY = "VPN_SHARED_POLICY"
    HA_UPGRADE_PATH = "HA_UPGRADE_PATH"
    CONFIG_REQUIRED_AFTER = "CONFIG_REQUIRED_AFTER"
    MODEL_UNKNOWN = "MODEL_UNKNOWN"
    # -- info --
    HA_HOPS = "HA_HOPS"
    CLEANUP = "CLEANUP"
    WARNING_ACCEPTED = "WARNING_ACCEPTED"


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO

FINDINGS: dict[FindingCode, CodeInfo] = {
    FindingCode.YAML_SYNTAX: CodeInfo(_E, "the file is not valid YAML", "fix the syntax at the line shown"),
    FindingCode.YAML_LIMIT: CodeInfo(_E, "the file exceeds a safety limit (size, nesting, aliases)", "split or simplify the file; YAML anchors may not expand into huge documents"),
    FindingCode.SCHEMA: CodeInfo(_E, "the document does not match its JSON Schema", "fix the key or value shown; schemas/ documents every field"),
    FindingCode.DUPLICATE_NAME: CodeInfo(_E, "a name is defined twice", "rename or remove one of the two definitions"),
    FindingCode.UNKNOWN_IMAGE: CodeInfo(_E, "a target names an image or version the catalog does not hold", "add the image to desired/images.yaml or correct the reference"),
    FindingCode.UNKNOWN_BUNDLE: CodeInfo(_E, "a bundle that is not defined is referenced", "define the bundle in desired/images.yaml or correct the name"),
    FindingCode.UNKNOWN_DEVICE: CodeInfo(_E, "a per-device override names a device that is not in the inventory", "add the device to inventory/devices.yaml or remove the override"),
    FindingCode.INLINE_SECRET: CodeInfo(_E, "a secret is written where a reference belongs", "use env:NAME or file:PATH and remove the secret from git history"),
    FindingCode.BAD_VERSION: CodeInfo(_E, "a version string cannot be parsed", "write ASA versions as 9.1(5), 9.2(2)4 or 9.1.5; agent versions as a.b.c.d"),
    FindingCode.UNSAFE_PATH: CodeInfo(_E, "an image name or source escapes the repository or embeds credentials", "use a plain file name and a repository-relative path or a credential-free URL"),
    FindingCode.NO_COMPATIBLE_IMAGE: CodeInfo(_E, "no catalog image of that type and version runs on the device's platform", "add the platform's build of that version to the catalog"),
    FindingCode.AMBIGUOUS_TARGET: CodeInfo(_E, "a version target matches more than one catalog image for the device's platform", "target the image file name instead, or remove the duplicate build from the catalog"),
    FindingCode.FILE_ERROR: CodeInfo(_E, "a required file is missing or cannot be read", "check the path and permissions: the repository needs desired/images.yaml, a policy file in desired/ and inventory/devices.yaml"),
    FindingCode.DISK_SPACE: CodeInfo(_E, "not enough free space on a member's install disk", "delete unneeded images on that member (or set cleanup: true) or choose another install_location"),
    FindingCode.INSTALL_LOCATION_MISSING: CodeInfo(_E, "the install disk is absent on a member", "choose an install_location that every member has"),
    FindingCode.PENDING_CONFIG: CodeInfo(_E, "configuration changes are submitted but not deployed", "deploy or discard the pending changes, then plan again"),
    FindingCode.STANDBY_UNREACHABLE: CodeInfo(_E, "the failover peer (or a cluster data unit) cannot be reached", "restore the unit's connectivity before upgrading the pair or cluster"),
    FindingCode.STANDBY_NOT_READY: CodeInfo(_E, "the failover peer is not in standby-ready state", "wait for the standby to reach Standby Ready (show failover) and plan again"),
    FindingCode.ACTIVE_ACTIVE: CodeInfo(_E, "active/active pairs are upgraded only as active/standby", "make every failover group active on one unit (or set allow_active_active_conversion: true)"),
    FindingCode.CLUSTER_DOWNGRADE: CodeInfo(_E, "a cluster cannot run a version below 9.0(1)", "choose a 9.x image for clustered devices"),
    FindingCode.CLUSTER_PLATFORM: CodeInfo(_E, "the image is not valid for a clustered platform", "choose an image built for the cluster members' platform"),
    FindingCode.IMAGE_NOT_IN_REPOSITORY: CodeInfo(_E, "the image is not in the local image repository", "run `reconciler images import` or `reconciler images fetch`"),
    FindingCode.IMAGE_CHECKSUM: CodeInfo(_E, "the repository copy does not match the catalog checksum", "re-fetch the image and check the sha256 in desired/images.yaml"),
    FindingCode.BUNDLE_SYSTEM_IMAGES: CodeInfo(_E, "a bundle holds more than one system image", "keep one asa image per bundle"),
    FindingCode.UNSUPPORTED_DEVICE: CodeInfo(_E, "the device type or its running version is not supported", "upgrade such devices by hand (PIX/FWSM/IPS/routers are never supported; Firepower needs 9.13(1)+ in appliance mode; sources must be 7.x+)"),
    FindingCode.UNSUPPORTED_IMAGE: CodeInfo(_E, "the image type is not supported (ASA-CX)", "remove ASA-CX images from the catalog and targets"),
    FindingCode.CONTEXT_IMAGE_TYPE: CodeInfo(_E, "a user context takes AnyConnect images only", "target system images at the system context"),
    FindingCode.BACKUP_NOT_SUPPORTED: CodeInfo(_E, "Firepower 1000/2000 cannot back up the running image", "set backup_current_image: false for these devices"),
    FindingCode.CONFIG_REGISTER: CodeInfo(_E, "the configuration register would not boot the image list", "set config-register to 0x1 (or 0x3/0x5/0x7/0x9) and save"),
    FindingCode.DEVICE_STATE: CodeInfo(_E, "the device is in maintenance or configuration-required state", "fix the device, then `reconciler device mark-operational NAME`"),
    FindingCode.CONFLICTING_TARGETS: CodeInfo(_E, "two policy entries give the device different targets", "make the groups' match rules disjoint or add a per-device override"),
    FindingCode.DEVICE_UNREACHABLE: CodeInfo(_E, "discovery could not reach the device", "check address, credentials and TLS settings; see the discovery error"),
    FindingCode.NOT_OBSERVED: CodeInfo(_E, "the device is in the inventory but not in the observed snapshot", "run `reconciler discover` again"),
    FindingCode.NOT_CONVERGING: CodeInfo(_E, "the device keeps drifting back after upgrades", "investigate what reverts the device, then `reconciler device mark-operational NAME`"),
    FindingCode.DEVICE_LOCKED: CodeInfo(_E, "another run holds the device's lock", "wait for the other run, or check `reconciler jobs list`"),
    FindingCode.RAM_LOW: CodeInfo(_W, "a member has less RAM than the image needs", "add memory or accept the warning with accept_warnings: [RAM_LOW]"),
    FindingCode.IMAGE_PLATFORM: CodeInfo(_W, "the image is not the preferred build for the platform (e.g. non-SMP on 5585)", "add the platform's preferred build to the catalog"),
    FindingCode.VERSION_UNSUPPORTED: CodeInfo(_W, "the target version is not listed for this model", "check the release notes for the model"),
    FindingCode.DOWNGRADE: CodeInfo(_W, "the target is older than the running version (downgrades are not validated)", "confirm the downgrade is intended"),
    FindingCode.SAME_VERSION: CodeInfo(_W, "a different image of the same version is targeted", "confirm the image swap is intended"),
    FindingCode.VPN_SHARED_POLICY: CodeInfo(_W, "VPN images are copied; their configuration is not managed here", "configure the remote-access VPN policy for the new images"),
    FindingCode.HA_UPGRADE_PATH: CodeInfo(_W, "the version step is not a zero-downtime path for a pair or cluster", "add the intermediate releases to the catalog or accept an outage"),
    FindingCode.CONFIG_REQUIRED_AFTER: CodeInfo(_W, "the device will need configuration work after the upgrade", "follow the message; the device will be configuration-required"),
    FindingCode.MODEL_UNKNOWN: CodeInfo(_W, "the device's model is not known yet, so version targets cannot be matched to a platform build", "add model: (or platform: for agents) to the inventory entry, or run `reconciler discover`"),
    FindingCode.HA_HOPS: CodeInfo(_I, "the upgrade goes through intermediate releases", "none; each hop is planned"),
    FindingCode.CLEANUP: CodeInfo(_I, "files are deleted to free space", "review the files listed"),
    FindingCode.WARNING_ACCEPTED: CodeInfo(_I, "a warning was accepted by policy", "none"),
}


class StepAction(enum.StrEnum):
    COPY = "copy"
    VERIFY_COPY = "verify-copy"
    BACKUP = "backup"
    DELETE_FILE = "delete-file"
    SET_BOOT = "set-boot"
    SET_ASDM = "set-asdm"
    SAVE_CONFIG = "save-config"
    RELOAD = "reload"
    WAIT_READY = "wait-ready"
    CHECK_VERSION = "check-version"
    SWITCH_ACTIVE = "switch-active"
    HANDOFF_CONTROL = "handoff-control"
    SET_FAILOVER_GROUPS = "set-failover-groups"
    REDISCOVER = "rediscover"
    AGENT_INSTALL = "agent-install"


STEP_ACTIONS: dict[StepAction, str] = {
    StepAction.COPY: "stream the image over HTTPS to the member's install disk",
    StepAction.VERIFY_COPY: "verify the copied file's checksum on the member (verify /md5)",
    StepAction.BACKUP: "copy the running system image to a backup file",
    StepAction.DELETE_FILE: "delete a file that is neither running nor referenced by a boot line",
    StepAction.SET_BOOT: "put the new image first in the boot list, keeping the old one as fallback",
    StepAction.SET_ASDM: "point `asdm image` at the new ASDM image",
    StepAction.SAVE_CONFIG: "write memory (synced to the peer or cluster)",
    StepAction.RELOAD: "reload the unit (directly, through the active, or through the control unit)",
    StepAction.WAIT_READY: "wait until the unit is back (standby-ready / rejoined) within reload_timeout",
    StepAction.CHECK_VERSION: "check the unit really runs the target version",
    StepAction.SWITCH_ACTIVE: "make the upgraded standby unit active (no failover active on the old active)",
    StepAction.HANDOFF_CONTROL: "make an upgraded data unit the cluster control unit",
    StepAction.SET_FAILOVER_GROUPS: "place failover groups on units (active/active conversion and restore)",
    StepAction.REDISCOVER: "re-discover the device's inventory",
    StepAction.AGENT_INSTALL: "tell an agent endpoint to install a new agent version",
}


class ExitCode(enum.IntEnum):
    OK = 0  # success; with --detailed-exitcode: no changes
    ERROR = 1  # validation problems, bad input, failed job
    CHANGES = 2  # with --detailed-exitcode: the plan has changes
    STALE_PLAN = 3  # apply refused a plan whose fingerprint no longer matches
    INTERRUPTED = 130  # Ctrl-C / SIGTERM stopped the run before completion


EXIT_CODES: dict[ExitCode, str] = {
    ExitCode.OK: "success (with --detailed-exitcode: the plan has no changes)",
    ExitCode.ERROR: "validation problems, bad input, or a failed job",
    ExitCode.CHANGES: "with --detailed-exitcode: the plan has changes",
    ExitCode.STALE_PLAN: "apply refused: the fleet or desired state changed since the plan was saved",
    ExitCode.INTERRUPTED: "interrupted by Ctrl-C or SIGTERM; the job record says where it stopped",
}


def severity_of(code: FindingCode | str) -> Severity:
    return FINDINGS[FindingCode(code)].severity
