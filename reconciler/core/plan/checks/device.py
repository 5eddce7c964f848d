"""Checks on the device as a whole: its type, state, configuration and register."""

from __future__ import annotations

from reconciler.contract import FindingCode
from reconciler.core.findings import Finding
from reconciler.core.model import DeviceState, ImageType
from reconciler.core.plan.context import DeviceContext
from reconciler.core.platforms import source_version_supported
from reconciler.core.versions import AsaVersion, VersionError, parse_version

_BOOTS_IMAGE_LIST = {0x1, 0x3, 0x5, 0x7, 0x9}


def register_value(text: str) -> int | None:
    try:
        return int(text.strip().lower().removeprefix("0x"), 16)
    except ValueError:
        return None


def device_checks(ctx: DeviceContext, state: DeviceState) -> list[Finding]:
    out: list[Finding] = []
    name, dev = ctx.name, ctx.observed

    if state is not DeviceState.OPERATIONAL:
        why = {
            DeviceState.MAINTENANCE: "a previous upgrade left it unreachable or failed",
            DeviceState.CONFIGURATION_REQUIRED: "it needs configuration work after an upgrade",
            DeviceState.UPGRADE_IN_PROGRESS: "an upgrade job is running on it (or was "
                                             "interrupted; the next run resolves it by discovery)",
        }[state]
        out.append(Finding(FindingCode.DEVICE_STATE,
                           f"{name} is {state}: {why}; it is left alone until an operator runs "
                           f"`reconciler device mark-operational {name}`", name))

    if ctx.is_agent:
        return out

    if dev.pending_config_changes:
        out.append(Finding(FindingCode.PENDING_CONFIG,
                           f"{name} has configuration changes that are submitted but not deployed; "
                           "deploy or discard them before the image changes, or the new release "
                           "may not accept them", name))

    running = dev.running.get(ImageType.ASA)
    if running is not None:
        try:
            v = parse_version(ImageType.ASA, running)
        except VersionError:
            v = None  # reported by the drift as BAD_VERSION
        if isinstance(v, AsaVersion):
            too_old = source_version_supported(ctx.platform, v)
            if too_old:
                out.append(Finding(FindingCode.UNSUPPORTED_DEVICE,
                                   f"{name} ({dev.model}): {too_old}; upgrade it by hand first",
                                   name))
    if ctx.platform.appliance_mode_required and dev.appliance_mode is False:
        out.append(Finding(FindingCode.UNSUPPORTED_DEVICE,
                           f"{name} ({dev.model}) runs in platform mode; only appliance mode is "
                           "managed: convert it to appliance mode or upgrade it by hand", name))
    system = ctx.system
    if system is not None and system.from_parsed is None and not ctx.user_context:
        out.append(Finding(FindingCode.NOT_OBSERVED,
                           f"discovery did not report the system image {name} runs; the boot "
                           "list and HA path cannot be planned without it: run `reconciler "
                           "discover` again", name))
    if system is not None and ctx.platform.min_version is not None and isinstance(
            system.to_parsed, AsaVersion) and system.to_parsed < ctx.platform.min_version \
            and ctx.platform.appliance_mode_required:
        out.append(Finding(FindingCode.UNSUPPORTED_DEVICE,
                           f"{name} ({dev.model}) runs ASA {ctx.platform.min_version} or later "
                           f"only; the target {system.change.to_version} is older: choose "
                           f"{ctx.platform.min_version}+", name))

    if ctx.user_context:
        others = sorted(str(t) for t in ctx.resolved.targets if t is not ImageType.ANYCONNECT)
        if others:
            out.append(Finding(FindingCode.CONTEXT_IMAGE_TYPE,
                               f"{name} is user context {dev.context!r}; it takes AnyConnect "
                               f"images only, not {', '.join(others)}: target those at the "
                               "system context's device instead", name))

    if ctx.sets_boot:
        reg = register_value(dev.config_register)
        if reg not in _BOOTS_IMAGE_LIST:
            out.append(Finding(FindingCode.CONFIG_REGISTER,
                               f"{name} has config-register {dev.config_register}; the reload "
                               "would not boot the image list (rommon or another source): "
                               "`config-register 0x1`, write memory, then plan again", name))
        if ctx.settings.backup_current_image and not ctx.platform.backup_supported:
            out.append(Finding(FindingCode.BACKUP_NOT_SUPPORTED,
                               f"{name} ({dev.model}) cannot back up its running image; set "
                               "backup_current_image: false for it (a group or device override)",
                               name))
    return out
