"""The Chinese catalogue against docs/GLOSSARY.md: each term as the glossary says, each pair of meanings
with two different words — and every action of the audit trail with words in both languages."""
import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from gridapp.audit.labels import ACTION_LABELS, OBJECT_LABELS

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = ROOT / "docs" / "GLOSSARY.md"
CATALOGUE = ROOT / "gridapp" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"


def _catalogue() -> dict:
    with CATALOGUE.open("rb") as fh:
        return {(m.context, m.id): m.string for m in read_po(fh) if m.id}


def _key(cell: str):
    context, _, msgid = cell.replace("\\|", "\x00").partition("\x00")
    context, msgid = context.strip(), msgid.strip()
    return (None if context == "—" else context, msgid)


def _tables():
    terms, pairs, section = [], [], None
    for line in GLOSSARY.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith("| ") and not line.startswith(("| context", "| one")):
            if section == "Terms":
                context, english, chinese = [c.strip() for c in line.strip("|").split(" | ")]
                terms.append(((None if context == "—" else context, english), chinese))
            elif section == "Never the same word":
                one, other = re.split(r"(?<!\\)\|", line.strip().strip("|"))[:2]
                pairs.append((_key(one), _key(other)))
    return terms, pairs


TERMS, PAIRS = _tables()


def test_the_glossary_is_read():
    assert len(TERMS) >= 20 and len(PAIRS) >= 8


@pytest.mark.parametrize("key,chinese", TERMS, ids=[f"{c or '-'}:{m}" for (c, m), _z in TERMS])
def test_each_term_translates_as_the_glossary_says(key, chinese):
    catalogue = _catalogue()
    assert key in catalogue, f"{key} is not in the catalogue (is it still used?)"
    assert catalogue[key] == chinese


@pytest.mark.parametrize("one,other", PAIRS, ids=[f"{a[1]}~{b[1]}" for a, b in PAIRS])
def test_two_meanings_never_share_a_word(one, other):
    catalogue = _catalogue()
    assert catalogue[one] and catalogue[other]
    assert catalogue[one] != catalogue[other], f"{one} and {other} both read {catalogue[one]}"


def _recorded_actions() -> set[str]:
    """Every action code the code records: record("code", …) and the grid's _save(…, "code", …)."""
    found = set()
    for path in list((ROOT / "gridapp").rglob("*.py")) + list((ROOT / "jobs").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            position = {"record": 0, "_save": 3}.get(name)
            if position is not None and len(node.args) > position:
                arg = node.args[position]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
    return found


def test_every_recorded_action_has_words_in_both_languages():
    actions = _recorded_actions()
    assert {"login", "item_verified", "household_updated", "import_done"} <= actions  # the scan finds them
    missing = sorted(actions - set(ACTION_LABELS))
    assert not missing, f"audit actions without a label in gridapp/audit/labels.py: {missing}"
    catalogue = _catalogue()
    untranslated = sorted(code for code, label in ACTION_LABELS.items() if not catalogue.get((None, label._args[0])))
    assert not untranslated, f"audit action labels without Chinese: {untranslated}"


def test_every_kind_of_object_has_words_in_both_languages(app):
    from gridapp.extensions import db

    never_audited = {"AuditEvent", "LoginSession", "Notification", "NotificationPreference", "NotificationSetting",
                     "ContactView", "DisinfectionDayTally", "DisinfectionTalliedDay", "DisinfectionSlot",
                     "ErrandEvent", "ItemEvent", "ItemComment", "FeedToken", "Photo", "UrgentOptIn", "CompoundRisk",
                     "NoticeMark", "ReportTemplate",
                     "AnnouncementRecipient", "AccessRecord", "ObservationCheck",
                     "CampaignPlace", "ScreeningReminder", "ScreeningTally"}
    mapped = {m.class_.__name__ for m in db.Model.registry.mappers}
    missing = sorted(mapped - never_audited - set(OBJECT_LABELS))
    assert not missing, f"kinds of object without a label in gridapp/audit/labels.py: {missing}"
    catalogue = _catalogue()
    assert all(catalogue.get((None, label._args[0])) for label in OBJECT_LABELS.values())


def test_the_audit_trail_shows_words_not_codes(client, world):
    from flask_babel import refresh

    client.login("admin")
    client.post("/lang", {"lang": "zh", "next": "/admin/audit"})
    refresh()
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "登录" in page and ">login<" not in page
    assert "<option value=\"login\">登录</option>" in page
