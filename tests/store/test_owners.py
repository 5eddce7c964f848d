from __future__ import annotations

import os
import socket
import subprocess
import sys

from reconciler.store import owners
from reconciler.store.owners import (OwnerId, local_key, new_owner_id, owner_alive,
                                     retire_owner_id)


def test_owner_ids_name_host_and_pid_and_are_unique():
    a, b = new_owner_id(), new_owner_id()
    assert a != b
    oid = OwnerId.parse(a)
    assert oid.host == socket.gethostname() and oid.pid == os.getpid()
    assert str(oid) == a


def test_a_retired_owner_is_dead_and_forgotten():
    before = len(owners._issued)
    a = new_owner_id()
    assert owner_alive(a) is True and len(owners._issued) == before + 1
    retire_owner_id(a)
    assert owner_alive(a) is False and len(owners._issued) == before
    retire_owner_id(a)
    retire_owner_id("ci-runner-7")  # a hand-made name: nothing to forget


def test_parse_rejects_hand_made_names():
    assert OwnerId.parse("ci-runner-7") is None
    assert OwnerId.parse("host:notapid:tok") is None
    assert OwnerId.parse(":12:tok") is None
    assert OwnerId.parse("h:1:t") == OwnerId("h", 1, "t")


def test_liveness():
    assert owner_alive(new_owner_id()) is True
    host, key = socket.gethostname(), local_key()
    # Our own pid with a token this process never issued: a restarted runner's old identity.
    assert owner_alive(f"{host}:{os.getpid()}:{key}-notmine") is False
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert owner_alive(f"{host}:{child.pid}:{key}-tok") is False
    assert owner_alive(f"{host}:1:{key}-tok") is True  # pid 1 exists (maybe not ours)
    assert owner_alive("other-host.example:1:tok") is None


def test_same_hostname_in_another_pid_namespace_is_unknown_not_dead():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    # Same hostname, but the pid belongs to another namespace or boot: cannot judge.
    assert owner_alive(f"{socket.gethostname()}:{child.pid}:0000beef-tok") is None
    assert owner_alive("by-hand") is None
    assert owner_alive(None) is False
