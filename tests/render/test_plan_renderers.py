import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "core" / "plan"))

from builders import all_present, desired, resolved, snapshot  # noqa: E402

from reconciler.core.plan import plan_fleet  # noqa: E402
from reconciler.render.json import render_json  # noqa: E402
from reconciler.render.markdown import render_markdown  # noqa: E402
from reconciler.render.text import render_text  # noqa: E402

SNAP = """
taken_at: "2024-05-01T00:00:00Z"
devices:
""" + "".join(f"""
  - name: fw{i:02d}
    model: ASA5585-SSP-20
    platform: asa5585
    mode: standalone
    pending_config_changes: {'true' if i == 7 else 'false'}
    running: {{asa: "9.3(3)"}}
    members: [{{name: fw{i:02d}, role: standalone, ram_mb: {4096 if i == 3 else 16384},
               running: {{asa: "9.3(3)"}}, disks: [{{name: disk0, size: 8000000000, free: 100000000}}]}}]
""" for i in range(1, 41))


def plan():
    names = [f"fw{i:02d}" for i in range(1, 41)]
    r = {n: resolved(n, {"asa": "asa941-smp-k8.bin"}) for n in names}
    return plan_fleet(desired(*names), r, snapshot(SNAP), all_present())


def test_text_shows_changes_blocked_devices_with_reasons_and_warnings():
    out = render_text(plan(), width=200)
    assert out.startswith("Plan: 39 devices to change (39 image changes")
    assert "Changes" in out and "9.3(3) → 9.4(1)" in out
    blocked = out[out.index("Blocked"):]
    assert "fw07" in blocked and "PENDING_CONFIG" in blocked
    assert "RAM_LOW" in out[out.index("Warnings"):]
    assert "reload into 9.4(1)" in render_text(plan(), steps=True, width=200)


def test_markdown_puts_blocked_devices_first_with_collapsible_steps():
    md = render_markdown(plan())
    assert md.startswith("### reconciler plan: 39 devices to change")
    sections = [line for line in md.splitlines() if line.startswith("#### ")]
    assert sections[0].startswith("#### ⛔ `fw07`")
    assert "<details><summary>7 steps</summary>" in md
    assert "| asa | 9.3(3) | 9.4(1) | `asa941-smp-k8.bin` | — |" in md


def test_markdown_stays_under_the_comment_limit():
    p = plan()
    small = render_markdown(p, max_chars=6000)
    assert len(small) <= 6000
    assert "left out to fit the comment" in small
    assert small.index("`fw07`") < small.index("`fw01`")  # blocked devices survive the cut


def test_markdown_escapes_table_breakers():
    p = plan()
    dev = replace(p.devices[0], notes=("a | b <script>",))
    md = render_markdown(replace(p, devices=(dev,)))
    assert "a \\| b &lt;script&gt;" in md


def test_json_is_stable():
    assert render_json(plan()) == render_json(plan())
