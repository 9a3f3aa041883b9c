"""The safeguarding settings: the on-call phone is parsed strictly, and a deployment's own helplines file
replaces the shipped numbers."""
from __future__ import annotations

import pytest

from helpdesk import content
from helpdesk.settings import Settings, SettingsError


def test_the_on_call_phone_is_read_in_international_form():
    assert Settings.from_env({"ONCALL_PHONE": "+92 321-999 8877"}).oncall_phone == "+923219998877"
    assert Settings.from_env({}).oncall_phone is None
    with pytest.raises(SettingsError, match="ONCALL_PHONE"):
        Settings.from_env({"ONCALL_PHONE": "03219998877"})


def test_a_deployments_helplines_file_fills_what_the_shipped_one_leaves_empty(tmp_path):
    shipped = content.helplines("sindh", "child_abuse", "en")
    assert not any("Child protection" in line for line in shipped)     # not verified: not shipped
    own = tmp_path / "helplines.yaml"
    own.write_text((content.HERE / "helplines.yaml").read_text(encoding="utf-8").replace(
        "  sindh:\n    child_protection: {number: \"\", source: \"\"}",
        "  sindh:\n    child_protection: {number: \"1234\", source: \"checked with the department\"}"),
        encoding="utf-8")
    settings = Settings.from_env({"HELPLINES_FILE": str(own)})
    assert content.helplines("sindh", "child_abuse", "en", settings.helplines_file)[0] == \
        "Child protection helpline 1234"


def test_every_shipped_number_names_the_source_it_was_checked_against():
    data = content._helplines(None)
    entries = [entry for entry in data["national"].values()]
    entries += [entry for kinds in data["provinces"].values() for entry in kinds.values()]
    for entry in entries:
        if entry.get("number"):
            assert entry.get("source") and entry.get("checked"), entry
    assert set(data["provinces"]) <= set(content._load("districts.yaml"))
    assert set(data["by_category"]) >= {"child_abuse", "self_harm", "violence_threat", "harassment", "emergency"}
