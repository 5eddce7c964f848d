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
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from reconciler.drivers import cli_parsers as P
from reconciler.errors import DeviceError
from tests.reliability.budget import fuzz
from tests.reliability.cli_corpus import PARSERS, corpus
from tests.reliability.mutations import mutate, random_text

NAMES = sorted(PARSERS)

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


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("shape", sorted(PATHOLOGICAL))
def test_pathological_output_fifty_times_larger(shape: str) -> None:
    """The soak version: 10 MB inputs, where anything quadratic would take hours."""
    text = PATHOLOGICAL[shape]
    head, body = text[:40], text[40:]
    for name in NAMES:
        call_parser(name, head + body * 50)
