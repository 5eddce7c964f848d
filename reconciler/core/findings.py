"""A finding: one validation or planning result with a code from the contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.contract import FINDINGS, FindingCode, Severity
from reconciler.errors import Location, coded_line, place


@dataclass(frozen=True, slots=True)
class Finding:
    code: FindingCode
    message: str
    device: str | None = None
    member: str | None = None
    location: Location | None = field(default=None, compare=False)
    severity_override: Severity | None = None  # e.g. an accepted warning becomes info

    @property
    def severity(self) -> Severity:
        return self.severity_override or FINDINGS[self.code].severity

    @property
    def blocking(self) -> bool:
        return self.severity is Severity.ERROR

    @property
    def action(self) -> str:
        return FINDINGS[self.code].action

    def where(self) -> str:
        return place(self.location, self.device, self.member)

    def line(self) -> str:
        """The `file:line: CODE message` form used by `validate` and CI annotations."""
        return coded_line(self.where(), self.code, self.message)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"severity": str(self.severity), "code": str(self.code),
                               "message": self.message}
        if self.member:
            out["member"] = self.member
        if self.location is not None:
            out["file"] = self.location.file
            if self.location.line:
                out["line"] = self.location.line
        return out
