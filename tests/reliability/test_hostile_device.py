"""A device that answers hostile data: the drivers end in a value or a DeviceError naming it.

The simulated fleet answers every request for real (over an ASGI transport); a tampering
transport in front of it rewrites one answer per case — the CLI text of one ASA command
(mutated like tests/reliability/test_fuzz_cli_parsers.py does) or the JSON of one agent API call
(keys dropped, values replaced by any JSON, the body replaced by non-JSON). Whatever the answer,
discovery must either succeed or raise a DeviceError whose `device` is the device and whose code
says what went wrong — never KeyError, TypeError, AttributeError, ValueError, IndexError...
"""

from __future__ import annotations

import dataclasses

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from reconciler.drivers.base import Digest, Driver
from reconciler.errors import DeviceError
from reconciler.sim.app import create_app
from tests.reliability.budget import fuzz
from tests.reliability.mutations import json_values, mutate, mutate_json, random_text
from tests.sim_support import FAST, make_fleet, open_driver

Tamper = Callable[[httpx.Request, bytes, int], bytes | None]


class TamperingTransport(httpx.AsyncBaseTransport):
    """Forwards to the simulator; `tamper(request, body, index)` may replace an answer's body."""

    def __init__(self, inner: httpx.AsyncBaseTransport, tamper: Tamper | None = None) -> None:
        self.inner = inner
        self.tamper = tamper
        self.requests: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        resp = await self.inner.handle_async_request(request)
        body = await resp.aread()
        self.requests.append(f"{request.method} {request.url.path}")
        new = self.tamper(request, body, len(self.requests) - 1) if self.tamper else None
        if new is None:
            new = body
        headers = [(k, v) for k, v in resp.headers.items()
                   if k.lower() not in ("content-length", "content-encoding")]
        return httpx.Response(resp.status_code, headers=headers, content=new)


Operation = Callable[[Driver], Awaitable[Any]]

ASA_DEVICES = ["fw-solo", "fw-pair", "fw-aa", "fw-cluster"]
AGENT_OPERATIONS: dict[str, Operation] = {
    "get_facts": lambda d: d.get_facts(),
    "running_versions": lambda d: d.running_versions(),
    "checkin": lambda d: d.checkin(),
    "verify": lambda d: d.verify(None, "packages:/agent-7.3.1.2048-x64.msi",
                                 Digest("sha-256", "00" * 32)),
}


UNBATCHED = dataclasses.replace(FAST, batch_commands=False)


async def _run(name: str, op: Operation, tamper: Tamper | None) -> tuple[Any, list[str]]:
    fleet = make_fleet()
    transport = TamperingTransport(httpx.ASGITransport(app=create_app(fleet)), tamper)
    async with httpx.AsyncClient(transport=transport) as client:
        # one command per request, so a tamper aimed at one command's answer hits exactly it
        async with open_driver(fleet, name, client, options=UNBATCHED) as drv:
            try:
                return await op(drv), transport.requests
            except DeviceError as e:
                return e, transport.requests


@functools.cache
def baseline(name: str, op_name: str) -> int:
    """How many requests the untampered operation sends (the cases pick one of them)."""
    op = AGENT_OPERATIONS.get(op_name) or (lambda d: d.get_facts())
    result, requests = asyncio.run(_run(name, op, None))
    assert not isinstance(result, BaseException) or op_name == "verify", result
    return len(requests)


def check(name: str, result: Any) -> None:
    if isinstance(result, DeviceError):
        assert result.device == name, f"{result!r} does not name the device"
        assert result.code and result.message
        assert str(result).startswith(f"{name}")


@fuzz(100)
@given(data=st.data(), name=st.sampled_from(ASA_DEVICES))
def test_asa_discovery_of_a_device_printing_garbage(data: st.DataObject, name: str) -> None:
    target = data.draw(st.integers(0, baseline(name, "get_facts") - 1), label="request")

    def tamper(request: httpx.Request, body: bytes, index: int) -> bytes | None:
        if index != target:
            return None
        text = body.decode("utf-8", "replace")
        if data.draw(st.booleans(), label="random"):
            return data.draw(random_text, label="text").encode()
        return mutate(text, data).encode("utf-8", "surrogatepass")

    result, _ = asyncio.run(_run(name, lambda d: d.get_facts(), tamper))
    check(name, result)


@fuzz(100)
@given(data=st.data(), op_name=st.sampled_from(sorted(AGENT_OPERATIONS)))
def test_agent_endpoint_answering_odd_json(data: st.DataObject, op_name: str) -> None:
    target = data.draw(st.integers(0, baseline("ep-one", op_name) - 1), label="request")

    def tamper(request: httpx.Request, body: bytes, index: int) -> bytes | None:
        if index != target:
            return None
        how = data.draw(st.sampled_from(["mutate", "any json", "not json"]), label="how")
        if how == "not json":
            return data.draw(st.binary(max_size=64), label="bytes")
        try:
            value = json.loads(body)
        except ValueError:
            value = None
        new = mutate_json(value, data) if how == "mutate" else data.draw(json_values, label="json")
        return json.dumps(new).encode()

    result, _ = asyncio.run(_run("ep-one", AGENT_OPERATIONS[op_name], tamper))
    check("ep-one", result)


async def test_a_parse_error_names_the_device_and_the_command() -> None:
    """What an operator sees when a device prints something the driver does not understand."""
    def tamper(request: httpx.Request, body: bytes, index: int) -> bytes | None:
        return b"Hardware: ???\n" if request.url.path.endswith("/exec/show version") else None

    result, _ = await _run("fw-solo", lambda d: d.get_facts(), tamper)
    assert isinstance(result, DeviceError) and result.code == "CLI_PARSE"
    assert str(result).startswith("fw-solo: CLI_PARSE cannot parse the output of `show version`")
