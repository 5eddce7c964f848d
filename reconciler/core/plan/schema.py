"""The JSON Schema of plans, built from the contract so its enums cannot drift.

`schemas/plan.schema.json` is this document, written by `reconciler contract --write`;
a test fails when the checked-in file differs from what this module builds.
"""

from __future__ import annotations

from typing import Any

from reconciler.contract import FindingCode, Severity, StepAction
from reconciler.core.model import ImageType, InstallLocation, Mode, OnError, Operation, Order
from reconciler.core.plan.model import PLAN_FORMAT_VERSION, ReadyCondition

SCHEMA_ID = "https://reconciler.example/schemas/plan.schema.json"


def _enum(e: Any) -> list[str]:
    return [str(x) for x in e]


def _str() -> dict[str, Any]:
    return {"type": "string", "minLength": 1}


def _names() -> dict[str, Any]:
    return {"type": "array", "items": _str()}


def build_plan_schema() -> dict[str, Any]:
    finding = {
        "type": "object",
        "required": ["severity", "code", "message"],
        "additionalProperties": False,
        "properties": {
            "severity": {"enum": _enum(Severity)},
            "code": {"enum": _enum(FindingCode)},
            "message": _str(),
            "member": _str(),
            "file": _str(),
            "line": {"type": "integer", "minimum": 1},
        },
    }
    change = {
        "type": "object",
        "required": ["type", "from", "to", "image"],
        "additionalProperties": False,
        "properties": {
            "type": {"enum": _enum(ImageType)},
            "from": {"type": ["string", "null"]},
            "to": _str(),
            "image": _str(),
            "from_image": _str(),
            "hops": {**_names(), "description": "intermediate images of the HA upgrade path"},
        },
    }
    step = {
        "type": "object",
        "required": ["seq", "action", "member"],
        "additionalProperties": False,
        "properties": {
            "seq": {"type": "integer", "minimum": 1},
            "action": {"enum": _enum(StepAction)},
            "member": _str(),
            "via": {**_str(), "description": "the unit the command is sent through"},
            "image": _str(),
            "type": {"enum": _enum(ImageType)},
            "disk": _str(),
            "path": _str(),
            "size": {"type": "integer", "minimum": 0},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "version": _str(),
            "boot": {**_names(), "maxItems": 4},
            "timeout": {"type": "integer", "minimum": 1},
            "wait_for": {"enum": _enum(ReadyCondition)},
            "groups": {"type": "object",
                       "additionalProperties": {"type": "array",
                                                "items": {"type": "integer", "minimum": 1}}},
            "spreads_to": _names(),
            "synced_to": _names(),
            "dest": _str(),
            "hop": {"type": "integer", "minimum": 1},
            "note": _str(),
        },
    }
    settings = {
        "type": "object",
        "required": ["operation", "on_error", "order", "max_parallel", "reload_timeout",
                     "install_location"],
        "additionalProperties": False,
        "properties": {
            "operation": {"enum": _enum(Operation)},
            "on_error": {"enum": _enum(OnError)},
            "order": {"enum": _enum(Order)},
            "max_parallel": {"type": "integer", "minimum": 1},
            "reload_timeout": {"type": "integer", "minimum": 1},
            "install_location": {"enum": _enum(InstallLocation)},
        },
    }
    device = {
        "type": "object",
        "required": ["device", "mode", "driver", "blocked", "changes", "findings", "steps",
                     "configuration_required_after", "observed_digest"],
        "additionalProperties": False,
        "properties": {
            "device": _str(),
            "mode": {"enum": [*_enum(Mode), None]},
            "driver": _str(),
            "blocked": {"type": "boolean"},
            "changes": {"type": "array", "items": {"$ref": "#/$defs/change"}},
            "findings": {"type": "array", "items": {"$ref": "#/$defs/finding"}},
            "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}},
            "settings": {"$ref": "#/$defs/settings"},
            "contexts": _names(),
            "configuration_required_after": {"type": "boolean"},
            "observed_digest": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
            "notes": _names(),
        },
    }
    counts = ["devices", "in_sync", "changed", "blocked", "unmanaged", "changes", "steps",
              "errors", "warnings", "infos"]
    summary = {
        "type": "object",
        "required": counts,
        "additionalProperties": False,
        "properties": {k: {"type": "integer", "minimum": 0} for k in counts},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "reconciler plan",
        "description": "Output of `reconciler plan --format json` and saved plans (`--out`). "
                       "Generated from reconciler/contract.py: do not edit by hand.",
        "type": "object",
        "required": ["format_version", "fingerprint", "source", "taken_at", "devices", "summary"],
        "additionalProperties": False,
        "properties": {
            "format_version": {"const": PLAN_FORMAT_VERSION},
            "fingerprint": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
            "source": {
                "type": "object",
                "required": ["commit", "digest"],
                "additionalProperties": False,
                "properties": {"commit": {"type": ["string", "null"]},
                               "dirty": {"type": "boolean",
                                         "description": "read from disk, and the desired-state "
                                                        "files differed from the commit"},
                               "digest": {"type": "string"}},
            },
            "taken_at": {"type": "string"},
            "devices": {"type": "array", "items": {"$ref": "#/$defs/device"}},
            "summary": {"$ref": "#/$defs/summary"},
            "findings": {"type": "array", "items": {"$ref": "#/$defs/finding"},
                         "description": "findings not tied to one device"},
            "pr": {**_pr_schema(), "description": "pull-request mode (--base/--head) only: "
                                                  "what the PR changes, device by device"},
            "observed": {"type": "object", "additionalProperties": {"type": "object"},
                         "description": "saved plans (--out) only: each planned device as "
                                        "discovery saw it (snapshot device form)"},
        },
        "$defs": {"finding": finding, "change": change, "step": step, "settings": settings,
                  "device": device, "summary": summary},
    }


def _pr_schema() -> dict[str, Any]:
    change = {
        "type": "object",
        "required": ["device", "kind", "reasons"],
        "additionalProperties": False,
        "properties": {"device": _str(),
                       "kind": {"enum": ["added", "changed", "removed", "unplanned"]},
                       "reasons": _names()},
    }
    changes = {"type": "array", "items": change}
    sha = {"type": "string", "pattern": "^[0-9a-f]{40,64}$"}
    return {
        "type": "object",
        "required": ["base_ref", "head_ref", "base", "head", "changes", "drifting", "problems",
                     "planned"],
        "additionalProperties": False,
        "properties": {
            "base_ref": _str(), "head_ref": _str(), "base": sha, "head": sha,
            "changes": {
                "type": "object",
                "required": ["planned", "removed", "unplanned", "base_incomplete",
                             "head_incomplete"],
                "additionalProperties": False,
                "properties": {"planned": changes, "removed": changes, "unplanned": changes,
                               "base_incomplete": {"type": ["string", "null"]},
                               "head_incomplete": {"type": ["string", "null"]}},
            },
            "drifting": {**_names(), "description": "devices with changes this PR does not "
                                                    "cause"},
            "problems": {"type": "array", "items": {"$ref": "#/$defs/finding"},
                         "description": "validation of the head revision"},
            "planned": {"type": "boolean",
                        "description": "false: not planned (errors, or no observed state)"},
        },
    }
