"""Playbooks: loading, validation against reason ids, and recommended actions."""

from __future__ import annotations

import itertools
import textwrap

import numpy as np
import pandas as pd
import pytest

from churnkit.actions import PlaybookConfig, load_playbooks, recommend, validate_playbooks
from churnkit.exceptions import ConfigError
from churnkit.explain._reasons import load_reasons


@pytest.fixture(scope="module")
def playbooks() -> PlaybookConfig:
    return load_playbooks(reasons=load_reasons())


def small() -> PlaybookConfig:
    return PlaybookConfig.model_validate(
        {
            "playbooks": {
                "a": [
                    {"action": "Fix it", "owner": "support lead", "timing": "within 48 hours"},
                    {"action": "Review history", "owner": "account manager", "timing": "first"},
                ],
                "b": [
                    {"action": "review  HISTORY", "owner": "account manager", "timing": "first"},
                    {"action": "Ask for feedback", "owner": "account manager", "timing": "soon"},
                ],
                "default": [
                    {"action": "Call", "owner": "account manager", "timing": "this week"},
                    {"action": "Gift", "owner": "account manager", "timing": "this month"},
                ],
            }
        }
    )


def test_builtin_playbooks_cover_every_builtin_reason(playbooks):
    assert set(load_reasons().ids) <= set(playbooks.playbooks)
    first = playbooks.actions_for("unresolved_complaints")[0]
    assert first.owner == "support lead"
    assert "complaint" in first.action
    assert playbooks.actions_for("no_such_reason") == playbooks.playbooks["default"]


def test_actions_taken_in_turn_from_the_top_reasons():
    ids = pd.DataFrame(
        {"reason_1": ["x"], "reason_1_id": ["a"], "reason_2_id": ["b"], "reason_3_id": [np.nan]}
    )
    out = recommend(ids, small(), k=3)
    assert list(out.columns) == ["action_1", "action_2", "action_3"]
    assert out.iloc[0].tolist() == [
        "Fix it (support lead, within 48 hours)",
        "review  HISTORY (account manager, first)",
        # a's second action repeats b's first (same words): skipped
        "Ask for feedback (account manager, soon)",
    ]


def test_actions_are_distinct_and_default_is_used(playbooks):
    ids = pd.DataFrame(
        {
            "reason_1_id": ["unresolved_complaints", "static__region", None, "low_satisfaction"],
            "reason_2_id": ["low_satisfaction", None, None, "unresolved_complaints"],
            "reason_3_id": ["support_load", None, None, "billing_price"],
        },
        index=[10, 11, 12, 13],
    )
    out = recommend(ids, playbooks)
    assert out.index.tolist() == [10, 11, 12, 13]
    for _, row in out.iterrows():
        assert row.notna().all()
        assert row.nunique() == 3
    default = [a.describe() for a in playbooks.playbooks["default"][:3]]
    assert out.loc[11].tolist() == default  # unknown reason id -> default playbook
    assert out.loc[12].tolist() == default  # no positive reason -> default playbook
    assert out.loc[10, "action_1"].startswith("Fix and close the open complaint")
    assert out.loc[13, "action_1"].startswith("Call to ask what went wrong")


def test_recommend_plain_id_columns_and_k():
    ids = pd.DataFrame({"first": ["b"], "second": ["a"]})
    out = recommend(ids, small(), k=5)
    assert out.iloc[0, :3].tolist() == [
        "review  HISTORY (account manager, first)",
        "Fix it (support lead, within 48 hours)",
        "Ask for feedback (account manager, soon)",
    ]
    assert out.iloc[0, 3:].isna().all()  # only three distinct actions exist
    with pytest.raises(ValueError, match="'k' parameter of recommend"):
        recommend(ids, small(), k=0)


def write(tmp_path, body):
    path = tmp_path / "playbooks.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("""
         playbooks:
           default:
             - {action: Call, ownr: me, timing: now}
         """, r"playbooks\.yaml: playbooks\.default\.0\.ownr: unknown key \(did you mean 'owner'\?\)"),
        ("""
         playbooks:
           default:
             - {action: Call, timing: now}
         """, r"playbooks\.yaml: playbooks\.default\.0\.owner: field required"),
        ("""
         playbooks:
           billing_price:
             - {action: Call, owner: me, timing: now}
         """, r"playbooks: a 'default' playbook is required"),
        ("""
         playbooks:
           default: []
         """, r"playbook 'default' has no actions"),
        ("""
         playbooks:
           default:
             - {action: "  ", owner: me, timing: now}
         """, r"playbooks\.default\.0\.action: must not be empty"),
        ("""
         plays: {}
         """, r"plays: unknown key \(did you mean 'playbooks'\?\)"),
    ],
)
def test_config_errors(tmp_path, body, match):
    with pytest.raises(ConfigError, match=match):
        load_playbooks(write(tmp_path, body))


def test_unknown_reason_id_lists_the_known_ones(tmp_path):
    path = write(
        tmp_path,
        """
        playbooks:
          unresolved_complaint:
            - {action: Fix, owner: support lead, timing: now}
          default:
            - {action: Call, owner: me, timing: now}
        """,
    )
    config = load_playbooks(path)  # on its own the file is valid
    reasons = load_reasons()
    match = (
        r"playbooks\.unresolved_complaint: unknown reason id 'unresolved_complaint' "
        r"\(did you mean 'unresolved_complaints'\?\)\. "
        r"Known reason ids: unresolved_complaints, feedback_silence, "
    )
    with pytest.raises(ConfigError, match=match):
        load_playbooks(path, reasons=reasons)
    with pytest.raises(ConfigError, match="unknown reason id"):
        validate_playbooks(config, reasons)


def test_actions_of_one_purpose_are_not_recommended_together():
    config = PlaybookConfig.model_validate(
        {
            "playbooks": {
                "price": [
                    {"action": "Report the value against the price", "owner": "am",
                     "timing": "soon", "purpose": "value_report"},
                    {"action": "Check the invoices", "owner": "billing", "timing": "soon"},
                ],
                "plan": [
                    {"action": "Report the value and propose a plan", "owner": "am",
                     "timing": "before renewal", "purpose": "Value_Report"},
                    {"action": "Discuss a longer commitment", "owner": "am", "timing": "later"},
                ],
                "default": [{"action": "Call", "owner": "am", "timing": "now"}],
            }
        }
    )
    ids = pd.DataFrame({"reason_1_id": ["price", "plan"], "reason_2_id": ["plan", "price"]})
    out = recommend(ids, config, k=3)
    # the second reason's value report is skipped; its next action follows in the next round
    assert out.iloc[0].tolist() == [
        "Report the value against the price (am, soon)",
        "Check the invoices (billing, soon)",
        "Discuss a longer commitment (am, later)",
    ]
    assert out.iloc[1].tolist() == [
        "Report the value and propose a plan (am, before renewal)",
        "Discuss a longer commitment (am, later)",
        "Check the invoices (billing, soon)",
    ]


def test_builtin_playbooks_never_pair_two_actions_of_one_purpose(playbooks):
    """Over every ordered choice of three built-in reasons, no purpose is recommended twice."""

    ids = list(load_reasons().ids) + ["default"]
    rows = pd.DataFrame(list(itertools.permutations(ids, 3)),
                        columns=["reason_1_id", "reason_2_id", "reason_3_id"])
    out = recommend(rows, playbooks, k=3)
    purpose = {a.describe(): a.purpose_key for acts in playbooks.playbooks.values() for a in acts}
    keys = out.apply(lambda col: col.map(purpose))
    assert keys.notna().all().all()
    assert (keys.nunique(axis=1) == 3).all()
    # the pair that used to appear together: a price reason's and a contract reason's value report
    both = rows[(rows == "billing_price").any(axis=1) & (rows == "contract_plan").any(axis=1)]
    texts = out.loc[both.index].apply(lambda r: " | ".join(r), axis=1)
    assert not texts.str.contains("Report the value delivered so far against").where(
        texts.str.contains("Report the value delivered so far and propose")).any()


def test_blank_purpose_is_a_config_error(tmp_path):
    body = """
    playbooks:
      default:
        - {action: Call, owner: me, timing: now, purpose: " "}
    """
    with pytest.raises(ConfigError, match=r"playbooks\.default\.0\.purpose: must not be empty"):
        load_playbooks(write(tmp_path, body))


def test_many_distinct_reason_combinations_do_not_collide():
    # 5 columns of 65,535 ids each: a key over their codes passes 2**64 (row 1's would wrap to
    # row 0's) unless renumbered before it overflows
    n = 2**16
    ids = {"c0": ["u0", "a", *(f"u{i}" for i in range(2, n - 1)), "u0"]}
    for j in range(1, 5):
        ids[f"c{j}"] = ["x", "x", *(f"x{j}_{i}" for i in range(2, n))]
    frame = pd.DataFrame(ids)
    assert all(frame[c].nunique() + 1 == n for c in frame)
    out = recommend(frame, small(), k=1)
    assert out["action_1"].iloc[:2].tolist() == [
        "Call (account manager, this week)", "Fix it (support lead, within 48 hours)"]
