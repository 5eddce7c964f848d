from reconciler.contract import FINDINGS, STEP_ACTIONS, EXIT_CODES, ExitCode, FindingCode, StepAction


def test_every_finding_code_has_severity_meaning_and_advice():
    assert set(FINDINGS) == set(FindingCode)
    for code, info in FINDINGS.items():
        assert info.meaning and info.action, code


def test_every_step_action_and_exit_code_is_documented():
    assert set(STEP_ACTIONS) == set(StepAction)
    assert set(EXIT_CODES) == set(ExitCode)
