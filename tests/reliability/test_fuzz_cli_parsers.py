"""Hostile device output: every CLI parser either returns a value or raises CliParseError.

A device (or something pretending to be one) can print anything. The parsers in
`reconciler/drivers/cli_parsers.py` must turn any text into either a typed value or a clean
`CliParseError` (a PermanentDeviceError naming the command) — never IndexError, KeyError,
ValueError, RecursionError, ... which would surface as an INTERNAL error without the device's
context. Inputs: (a) random text over an alphabet rich in what the parsers look for, and (b) the
real-looking outputs of tests/reliability/cli_corpus.py, mutated (lines truncated, dropped,
swapped and duplicated, fields swapped, garbage inserted, huge numbers, unicode digits and case
lookalikes, CRLF, NUL, tabs).
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from reconciler.drivers import cli_parsers as P
from reconciler.errors import DeviceError
from tests.reliability.budget import fuzz
from tests.reliability.cli_corpus import PARSERS, corpus

NAMES = sorted(PARSERS)

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


def call_parser(name: str, text: str) -> Any:
    fn = PARSERS[name][0]
    try:
        return fn(text)
    except P.CliParseError as e:
        assert isinstance(e, DeviceError)
        assert e.code == "CLI_PARSE"
        assert "cannot parse the output of `" in e.message and e.hint
        return e


def test_every_parser_is_fuzzed() -> None:
    public = {n for n, f in inspect.getmembers(P, inspect.isfunction)
              if f.__module__ == P.__name__ and not n.startswith("_")}
    assert public == set(PARSERS), "add the new parser to tests/reliability/cli_corpus.PARSERS"


def test_the_corpus_is_understood_before_it_is_mutated() -> None:
    """The unmutated outputs parse (or are refused with a clean error the driver expects)."""
    for name, texts in corpus().items():
        assert texts, name
        for text in texts:
            call_parser(name, text)
    assert len(corpus()["parse_show_version"]) >= 10


@pytest.mark.parametrize("name", NAMES)
@fuzz(150)
@given(text=random_text)
@example(text="")
@example(text="\0" * 10)
def test_random_text(name: str, text: str) -> None:
    call_parser(name, text)


@pytest.mark.parametrize("name", NAMES)
@fuzz(150)
@given(data=st.data())
def test_mutated_real_output(name: str, data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(corpus()[name]), label="output")
    call_parser(name, mutate(base, data))


# ----------------------------------------------------------------- regressions found by fuzzing

@pytest.mark.parametrize("name,text", [
    # Python refuses int() of more than 4300 digits (ValueError), and `str.isdigit` accepts
    # digits int() does not (superscripts): numbers are read only where they are plain ASCII
    # and of a sane length.
    ("parse_dir", "Directory of disk0:/\n1 -rwx " + "9" * 5000 + " 08:12:00 Jan 10 2023 a.bin\n"
                  "100 bytes total (50 bytes free)\n"),
    ("parse_dir", "Directory of disk0:/\n" + "9" * 5000 + " bytes total (1 bytes free)\n"),
    ("parse_show_version", "Cisco Adaptive Security Appliance Software Version 9.4(1)\n"
                           "Hardware:   ASA5506, " + "9" * 5000 + " MB RAM, CPU Atom\n"),
    ("parse_show_failover", "Failover On\n  This host: Primary\n   Group " + "1" * 5000 +
                            " State: Active\n  Other host: Secondary\n"),
    ("parse_show_cluster_info", 'Cluster dc: On\n  This is "A" in state CONTROL_NODE\n'
                                "    ID        : \u00b2\n    Site ID   : 1\n"),
    ("parse_show_file_systems", "File Systems:\n* " + "1" * 5000 + " 2 disk rw disk0:\n"),
    ("parse_show_webvpn_anyconnect", "1" * 5000 + ". disk0:/a.pkg 1 x\n  4,10,07073\n"),
    ("parse_bytes_copied", "9" * 5000 + " bytes copied in 1.0 secs\n"),
    ("uptime_seconds", "fw up 3 \u017fecs"),  # long s matches 's' case-insensitively
    ("uptime_seconds", "fw up 3 M\u0130NS"),  # dotted capital I lower-cases to two characters
    ("uptime_seconds", "fw up " + "9" * 5000 + " days"),
])
def test_regressions(name: str, text: str) -> None:
    call_parser(name, text)


# ----------------------------------------------------------------- size and line endings

N = 200_000
PATHOLOGICAL = {
    "blank lines": "\n" * N,
    "crlf lines": "\r\n" * N,
    "one long blank line": " " * N,
    "indented blank lines": " \n" * (N // 2),
    "one long number": "1" * N,
    "many numbers": "1 " * N,
    "many error lines": "ERROR: x\n" * (N // 9),
    "anyconnect headers without versions": "1. disk0:/a.pkg 1 x\n" * (N // 20),
    "cluster unit lines": 'Cluster dc: On\n' + ' This is "A" in state X\n' * (N // 24),
    "cluster exec headers": "A:**********\n" * (N // 13),
    "cluster exec header of stars": "A:" + "*" * N + "x\n",
    "dir line with a huge gap": "Directory of disk0:/\n1 -rwx 1 08:12:00 Jan 10 2023 x" + " " * N
                                + "y\n1 bytes total (1 bytes free)\n",
    "context line with a huge gap": "Context Name\n a b c" + " " * N + "d\n",
    "failover group with a huge gap": "Failover On\n This host: Primary\n  Group 1 State: x"
                                      + " " * N + "y\n Other host: Secondary\n",
    "file system line with a huge gap": "File Systems:\n* 1 2 a b x" + " " * N + "y\n",
    "uptime of many parts": "fw up " + "1 " * N,
}


@pytest.mark.timeout(120)  # a hang guard, not a speed test: quadratic patterns took minutes here
@pytest.mark.parametrize("shape", sorted(PATHOLOGICAL))
def test_large_pathological_output_is_read_in_linear_time(shape: str) -> None:
    for name in NAMES:
        call_parser(name, PATHOLOGICAL[shape])


def _outcome(name: str, text: str) -> Any:
    got = call_parser(name, text)
    if isinstance(got, P.CliParseError):
        return "CliParseError"
    if name == "parse_cluster_exec":  # passes each unit's text through unchanged
        return tuple(P.UnitOutput(u.unit, u.local, u.text.replace("\r\n", "\n")) for u in got)
    return got


def test_crlf_output_reads_the_same_as_lf_output() -> None:
    for name, texts in corpus().items():
        for text in texts:
            assert _outcome(name, text.replace("\n", "\r\n")) == _outcome(name, text), (name, text)
