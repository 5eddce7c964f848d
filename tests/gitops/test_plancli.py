"""`reconciler plan` with git: --ref, pull-request mode (--base/--head), annotations.

Real git repositories seeded with the example fleet, the example fleet's observed snapshot, a
real image repository, and the real CLI entry point with its exit codes.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from reconciler.cli import main
from reconciler.cli.plan import command as plan_command
from reconciler.paths import state_dir
from tests.cli.test_cli_plan import SCHEMA
from tests.gitops.repos import ROOT, FleetRepo, PrScenario, pr_scenarios

SCENARIOS = pr_scenarios()


def run(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(["plan", *args])
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    return code, out, err


@pytest.fixture
def snapshot(example_snapshot: Path) -> str:
    return str(example_snapshot)


def pr_args(repo: FleetRepo, images_dir: Path, snapshot: str, *extra: str) -> list[str]:
    return ["--repo", str(repo.path), "--base", "main", "--head", "pr", "--inventory",
            snapshot, "--images", str(images_dir), *extra]


def annotation_lines(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.startswith("::")]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_pr_mode_plans_only_what_the_pr_changed(fleet_repo: FleetRepo, images: Path, snapshot: str,
                                                scenario: PrScenario,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    scenario.replay(fleet_repo)
    code, out, err = run(*pr_args(fleet_repo, images, snapshot, "--format", "json", "--annotations"),
                         capsys=capsys)
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    pr = doc["pr"]
    expect = scenario.expect
    changed = {c["device"]: c["reasons"] for c in pr["changes"]["planned"]}
    if "planned" in expect:
        assert changed == expect["planned"]
    planned_devices = {d["device"] for d in doc["devices"]}
    assert planned_devices <= set(changed), "only devices the PR changes are planned"
    assert not set(pr["drifting"]) & set(changed)
    assert pr["head"] == fleet_repo.repo.commit("pr").hexsha
    assert doc["source"]["commit"] == pr["head"] and doc["source"]["dirty"] is False

    lines = annotation_lines(err)
    for want in scenario.data.get("annotations", []):
        hits = [ln for ln in lines if ln.startswith(want["prefix"])
                and want.get("contains", "") in ln]
        assert hits, (want, lines)
    if scenario.data.get("bad"):
        assert code == 1 == scenario.data["exit"]
        assert any(ln.startswith("::error ") for ln in lines)
    else:
        # the example keeps fw-aa-pair active/active (blocked): a PR that does not touch it
        # must not fail because of it
        assert code == (1 if any(d["blocked"] for d in doc["devices"]) else 0), doc["summary"]
        assert not [ln for ln in lines if ln.startswith("::error ")
                    and "desired/" in ln and "IMAGE" not in ln]


def test_group_change_plans_exactly_that_group(fleet_repo: FleetRepo, images: Path, snapshot: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """The example snapshot: fw-branch-01/03 run 9.3(3), fw-branch-02 runs 9.4(1)."""
    next(s for s in SCENARIOS if s.name == "group-target").replay(fleet_repo)
    code, out, _ = run(*pr_args(fleet_repo, images, snapshot, "--format", "json", "--detailed-exitcode"),
                       capsys=capsys)
    doc = json.loads(out)
    by_name = {d["device"]: d for d in doc["devices"]}
    # 02 is downgraded by the PR; 01 and 03 reach 9.3(3) and only their ASDM drift remains
    assert [c["to"] for c in by_name["fw-branch-02"]["changes"]] == ["9.3(3)"]
    assert {"DOWNGRADE"} <= {f["code"] for f in by_name["fw-branch-02"]["findings"]}
    assert [c["type"] for c in by_name["fw-branch-01"]["changes"]] == ["asdm"]
    assert set(by_name) == {"fw-branch-01", "fw-branch-02", "fw-branch-03"}
    # everything else that drifts is listed apart, including the blocked active/active pair
    assert {"fw-dc-pair", "fw-aa-pair", "fw-dc-cluster"} <= set(doc["pr"]["drifting"])
    assert code == 2  # changes, no errors: the blocked pair is not this PR's doing


def test_markdown_comment(fleet_repo: FleetRepo, images: Path, snapshot: str,
                          capsys: pytest.CaptureFixture[str],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "netops/fleet")
    next(s for s in SCENARIOS if s.name == "conflicting-groups").replay(fleet_repo)
    code, out, _ = run(*pr_args(fleet_repo, images, snapshot, "--format", "markdown", "--no-annotations"),
                       capsys=capsys)
    assert code == 1
    head = fleet_repo.repo.commit("pr").hexsha
    assert out.startswith("<!-- reconciler-plan -->\n## reconciler: plan for this pull request")
    sections = [ln for ln in out.splitlines() if ln.startswith("### ")]
    assert sections[0].startswith("### Validation problems (1 error")
    assert sections[1] == "### Devices this PR changes (1)"
    assert sections[2].startswith("### Plan for these devices:")
    assert sections[3].startswith("### Already drifting, not changed by this PR")
    link = f"](https://github.example.com/netops/fleet/blob/{head}/desired/fleet.yaml#L"
    assert link in out and "**CONFLICTING_TARGETS**" in out
    assert "| `fw-branch-01` | asa 9.4(1) → no target (was group branch-5500x)<br>now blocked: " \
           "CONFLICTING_TARGETS" in out
    assert out.index("#### ⛔ `fw-branch-01`") < out.index("### Already drifting")
    assert "<details>" in out and len(out) < 65_536


def test_bad_pr_yields_annotations_and_exit_1(fleet_repo: FleetRepo, images: Path, snapshot: str,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside GitHub Actions annotations are on without asking; stdout stays the comment."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    next(s for s in SCENARIOS if s.name == "yaml-syntax-error").replay(fleet_repo)
    code, out, err = run(*pr_args(fleet_repo, images, snapshot, "--format", "markdown"), capsys=capsys)
    assert code == 1
    (line,) = annotation_lines(err)
    n_lines = len(fleet_repo.read("desired/devices.yaml").splitlines())
    assert line.startswith(f"::error file=desired/devices.yaml,line={n_lines + 1},"
                           "title=YAML_SYNTAX::")
    assert "::" not in out
    assert "⛔ **Not planned**" in out and "did not load cleanly (YAML_SYNTAX" in out
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    _, _, err = run(*pr_args(fleet_repo, images, snapshot), capsys=capsys)
    assert not annotation_lines(err)


def test_pr_mode_ignores_the_working_tree(fleet_repo: FleetRepo, images: Path, snapshot: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    next(s for s in SCENARIOS if s.name == "device-override").replay(fleet_repo)
    fleet_repo.checkout("main")
    fleet_repo.write("desired/fleet.yaml", "groups: [oops\n")  # a broken, uncommitted edit
    code, out, _ = run(*pr_args(fleet_repo, images, snapshot, "--format", "json"), capsys=capsys)
    doc = json.loads(out)
    assert [c["device"] for c in doc["pr"]["changes"]["planned"]] == ["fw-branch-02"]
    assert doc["pr"]["problems"] == [] and code == 0
    assert fleet_repo.read("desired/fleet.yaml") == "groups: [oops\n"


def test_commits_on_the_base_branch_after_the_fork_are_not_the_prs(
        fleet_repo: FleetRepo, images: Path, snapshot: str, capsys: pytest.CaptureFixture[str]) -> None:
    next(s for s in SCENARIOS if s.name == "device-override").replay(fleet_repo)
    fleet_repo.checkout("main")
    fleet_repo.replace("desired/fleet.yaml", "asa: \"9.16(3)\"", "asa: \"9.14(1)\"")
    fleet_repo.commit("firepower back to 9.14(1), merged meanwhile")
    _, out, _ = run(*pr_args(fleet_repo, images, snapshot, "--format", "json"), capsys=capsys)
    pr = json.loads(out)["pr"]
    assert [c["device"] for c in pr["changes"]["planned"]] == ["fw-branch-02"]
    assert pr["base"] == fleet_repo.repo.git.merge_base("main", "pr")
    assert pr["base"] != fleet_repo.repo.commit("main").hexsha


def test_pr_mode_from_a_clone_url_without_observed_state(
        fleet_repo: FleetRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    next(s for s in SCENARIOS if s.name == "group-target").replay(fleet_repo)
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("--repo", fleet_repo.path.as_uri(), "--base", "origin/main", "--head",
                       "pr", "--format", "markdown", "--detailed-exitcode", capsys=capsys)
    assert code == 2
    assert "### Devices this PR changes (3)" in out
    assert "_No observed state was given" in out
    assert list((state_dir() / "git").glob("fleet-*.git"))  # the mirror cache


def test_plan_from_a_ref_and_dirty_working_tree(fleet_repo: FleetRepo, images: Path, snapshot: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    first = fleet_repo.repo.head.commit.hexsha
    fleet_repo.replace("desired/fleet.yaml", "reload_timeout: 900", "reload_timeout: 1000")
    second = fleet_repo.commit("longer reloads")
    common = ["--inventory", snapshot, "--images", str(images), "--format", "json"]
    _, out, _ = run("--repo", str(fleet_repo.path), "--ref", "HEAD~1", *common, capsys=capsys)
    doc = json.loads(out)
    assert doc["source"]["commit"] == first and doc["source"]["dirty"] is False
    jsonschema.validate(doc, SCHEMA)

    _, out, _ = run("--repo", str(fleet_repo.path), *common, capsys=capsys)  # from disk
    assert json.loads(out)["source"] == {**json.loads(out)["source"], "commit": second,
                                         "dirty": False}
    fleet_repo.replace("desired/fleet.yaml", "reload_timeout: 1000", "reload_timeout: 1100")
    _, out, _ = run("--repo", str(fleet_repo.path), *common, capsys=capsys)
    dirty = json.loads(out)
    assert dirty["source"]["commit"] == second and dirty["source"]["dirty"] is True
    _, md, _ = run("--repo", str(fleet_repo.path), "--inventory", snapshot, "--images",
                   str(images), "--format", "markdown", capsys=capsys)
    assert f"desired `{second[:12]} + uncommitted changes`" in md


@pytest.mark.parametrize("args, message", [
    (["--ref", "no-such-branch"], "GIT revision 'no-such-branch' not found in "),
    (["--base", "main", "--head", "nope"], "GIT revision 'nope' not found in "),
    (["--head", "HEAD"], "USAGE --head needs --base"),
    (["--base", "main", "--ref", "main"], "USAGE --ref does not go with --base/--head"),
])
def test_bad_git_invocations_are_one_line(fleet_repo: FleetRepo, images: Path, snapshot: str,
                                          capsys: pytest.CaptureFixture[str], args: list[str],
                                          message: str) -> None:
    code, out, err = run("--repo", str(fleet_repo.path), "--inventory", snapshot, *args,
                         capsys=capsys)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err


def test_annotations_in_normal_mode(fleet_repo: FleetRepo, images: Path, snapshot: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Outside PR mode the same annotations: the fatal errors that stop the plan."""
    fleet_repo.write("desired/devices.yaml", "devices: [\n")
    code, _, err = run("--repo", str(fleet_repo.path), "--inventory", snapshot, "--images",
                       str(images), "--annotations", capsys=capsys)
    assert code == 1
    assert annotation_lines(err)[0].startswith(
        "::error file=desired/devices.yaml,line=2,title=YAML_SYNTAX::")


def test_the_example_workflow_uses_real_options() -> None:
    workflow = yaml.safe_load((ROOT / "examples/github-actions-plan.yml").read_text())
    steps = workflow["jobs"]["plan"]["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@") and steps[0]["with"][
        "fetch-depth"] == 0
    assert any(s.get("with", {}).get("python-version") == "3.11" for s in steps)
    script = next(s["run"] for s in steps if "reconciler plan" in s.get("run", ""))
    command = script[script.index("reconciler plan"):].split(">")[0].replace("\\\n", " ")
    used = {w for w in command.split() if w.startswith("--")}
    known = {o for p in plan_command.params for o in (*p.opts, *p.secondary_opts)}
    assert used <= known, used - known
    assert {"--base", "--head", "--format", "--annotations"} <= used
    assert "${{ github.event.pull_request.base.sha }}" in command
    assert "<!-- reconciler-plan -->" in json.dumps(workflow)


def test_text_format_and_saved_pr_plan(fleet_repo: FleetRepo, images: Path, snapshot: str,
                                       tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    next(s for s in SCENARIOS if s.name == "new-and-removed-device").replay(fleet_repo)
    out_file = tmp_path / "pr-plan.json"
    code, out, err = run(*pr_args(fleet_repo, images, snapshot, "--out", str(out_file)),
                         capsys=capsys)
    lines = out.splitlines()
    assert lines[0].startswith("Pull request: base ") and "(merge base of main)" in lines[0]
    assert "Devices this PR changes (1):" in lines
    assert "  fw-branch-04: new device; asa 9.4(1) via group branch-5500x; asdm 7.16(1) via " \
           "group branch-5500x" in lines
    assert "Removed from the inventory: ep-lnx-001" in lines
    assert any(ln.startswith("Already drifting, not changed by this PR") for ln in lines)
    # the new device is in the inventory but not in the snapshot: blocked until discovered
    assert "NOT_OBSERVED" in out and code == 1
    saved = json.loads(out_file.read_text())
    assert [d["device"] for d in saved["devices"]] == ["fw-branch-04"]
    assert "saved to" in err


def test_a_clone_url_alone_plans_the_default_branch(fleet_repo: FleetRepo, images: Path,
                                                    snapshot: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import git

    server = git.Repo.clone_from(fleet_repo.path, tmp_path / "server.git", bare=True)
    fleet_repo.repo.create_remote("origin", server.git_dir)
    fleet_repo.branch("feature")
    fleet_repo.write("desired/notes.yaml", "{}\n")
    fleet_repo.commit("not on the default branch")
    fleet_repo.repo.git.push("-q", "origin", "feature")
    _, out, _ = run("--repo", (tmp_path / "server.git").as_uri(), "--inventory", snapshot,
                    "--images", str(images), "--format", "json", capsys=capsys)
    assert json.loads(out)["source"]["commit"] == fleet_repo.repo.commit("main").hexsha
    server.close()
