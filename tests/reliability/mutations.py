"""Mutations a confused or hostile device applies to its output (shared by the fuzzers)."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import strategies as st

# What the parsers match on, so random text reaches past the first regex now and then.
WORDS = ["Hardware:", "Serial Number:", "Software Version", "Adaptive Security Appliance",
         "Failover On", "Failover Off", "This host:", "Other host:", "Primary", "Secondary",
         "Group 1", "State:", "Active", "Standby Ready", "Cluster dc:", "On", "Off", "This is",
         "Unit", '"A"', "in state", "CONTROL_NODE", "DATA_NODE", "ID :", "Site ID :", "Version :",
         "Serial No.:", "CCL IP :", "CCL MAC :", "A(LOCAL):**********", "B:**********",
         "Directory of", "disk0:/", "bytes total", "bytes free", "drwx", "-rwx", "File Systems:",
         "BOOT variable =", "Current BOOT variable =", "CONFIG_FILE variable =", ";",
         "Device Manager image file,", "Security context mode:", "multiple", "Context Name",
         "Routed", "Transparent", "Session Name", "Un-committed", "AnyConnect Client(s) installed",
         "4,10,07073", "is currently installed", "Mode is currently set to", "verify /SHA-512",
         "(disk0:/a.bin) =", "bytes copied", "boot system", "up", "days", "hours", "mins", "secs",
         "ERROR:", "%Error", "12:00:00 UTC Mar 4 2024", "08:12:00 Jan 10 2023", "MB RAM,",
         "0x1", "Configuration register is", "(will be 0x2102 at next reload)", "9.4(1)",
         "<context>", "unit-1", "4118732800", "9" * 30]
ODD = ["\n", "\r\n", "\t", "\0", " ", "  ", "*", "(", ")", ",", ":", "\"", "\u00a0", "\ufeff",
       "\u0130", "\u017f", "\u212a", "\u00b2", "\u0663", "\uff11", "\u2028", "\U0001f525", "\x85"]
random_text = st.lists(st.one_of(st.sampled_from(WORDS), st.sampled_from(ODD),
                                 st.from_regex(r"\d{1,25}", fullmatch=True),
                                 st.text(max_size=8)), max_size=60).map("".join)


def mutate(text: str, data: st.DataObject) -> str:
    """Apply 1-4 random edits of the kinds a confused or hostile device would produce."""
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        lines = text.splitlines(keepends=True) or [""]
        op = data.draw(st.sampled_from([
            "truncate", "drop_line", "dup_line", "swap_lines", "swap_fields", "insert",
            "huge_number", "unicode_digit", "lookalike", "crlf", "nul", "tabs", "upper",
            "strip_spaces", "empty_field"]), label="op")
        i = data.draw(st.integers(0, len(lines) - 1), label="line")
        if op == "truncate":
            text = text[:data.draw(st.integers(0, len(text)), label="cut")]
        elif op == "drop_line":
            text = "".join(lines[:i] + lines[i + 1:])
        elif op == "dup_line":
            text = "".join(lines[:i + 1] + lines[i:])
        elif op == "swap_lines":
            j = data.draw(st.integers(0, len(lines) - 1), label="other")
            lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
        elif op == "swap_fields":
            fields = lines[i].split()
            if len(fields) >= 2:
                a, b = (data.draw(st.integers(0, len(fields) - 1), label=f"f{k}") for k in (1, 2))
                fields[a], fields[b] = fields[b], fields[a]
                lines[i] = " ".join(fields) + "\n"
            text = "".join(lines)
        elif op == "insert":
            at = data.draw(st.integers(0, len(text)), label="at")
            text = text[:at] + data.draw(random_text, label="garbage") + text[at:]
        elif op in ("huge_number", "unicode_digit"):
            numbers = list(re.finditer(r"\d+", text))
            if numbers:
                m = data.draw(st.sampled_from(numbers), label="number")
                new = (data.draw(st.sampled_from(["9" * 5000, "1" * 40, "0" * 300, "-1",
                                                  str(2**64)]), label="huge")
                       if op == "huge_number" else
                       data.draw(st.sampled_from(["\u0663", "\uff11\uff12", "\u00b2", "\u2460",
                                                  "\U0001d7d9"]), label="digit"))
                text = text[:m.start()] + new + text[m.end():]
        elif op == "lookalike":
            pairs = [("i", "\u0130"), ("s", "\u017f"), ("k", "K"), ("K", "\u212a"),
                     ("0", "O"), ("-", "\u2010"), (":", "\uff1a"), ("/", "\u2215"), (" ", "\u00a0")]
            a, b = data.draw(st.sampled_from(pairs), label="pair")
            text = text.replace(a, b)
        elif op == "crlf":
            text = text.replace("\n", "\r\n")
        elif op == "nul":
            at = data.draw(st.integers(0, len(text)), label="at")
            text = text[:at] + "\0" + text[at:]
        elif op == "tabs":
            text = text.replace("  ", "\t")
        elif op == "upper":
            lines[i] = lines[i].upper()
            text = "".join(lines)
        elif op == "strip_spaces":
            lines[i] = re.sub(r"\s+", " ", lines[i]).strip() + "\n"
            text = "".join(lines)
        elif op == "empty_field":
            lines[i] = re.sub(r"(:|=)\s*\S+", r"\1", lines[i], count=1)
            text = "".join(lines)
    return text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)


def mutate_json(value: Any, data: st.DataObject) -> Any:
    """Drop a key, replace a value with any JSON, or change the type of a container."""
    if isinstance(value, dict) and value:
        key = data.draw(st.sampled_from(sorted(value)), label="key")
        op = data.draw(st.sampled_from(["drop", "replace", "recurse"]), label="op")
        out = dict(value)
        if op == "drop":
            del out[key]
        elif op == "replace":
            out[key] = data.draw(json_values, label="value")
        else:
            out[key] = mutate_json(out[key], data)
        return out
    if isinstance(value, list) and value:
        i = data.draw(st.integers(0, len(value) - 1), label="index")
        out_list = list(value)
        out_list[i] = mutate_json(out_list[i], data)
        return out_list
    return data.draw(json_values, label="value")
