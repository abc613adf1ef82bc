"""The meaning matcher's calibration procedure (bench/calibrate.py): its bound and its bank view."""

from __future__ import annotations

import numpy as np
import pytest

from bench.calibrate import BankSet, bank_figures, wilson_upper


def test_the_wrong_answer_bound_asks_for_a_margin_on_a_small_set():
    # 6 wrong of 622 (1.0%) can be promised as under 2%; 7 (1.1%) cannot, at 95% confidence.
    assert wilson_upper(6 / 622, 622) <= 0.02 < wilson_upper(7 / 622, 622)
    assert wilson_upper(0.0, 0) == 1.0
    assert wilson_upper(0.01, 100_000) == pytest.approx(0.01, abs=0.001)


def test_the_bank_view_decides_each_row_by_its_likeliest_candidate():
    # Row 0 (in domain): right candidate 0.9, wrong one 0.4. Row 1 (in domain): wrong candidate
    # wins at 0.8. Row 2 (out of domain): its only candidate at 0.2.
    bank = BankSet(x=np.zeros((4, 1)), y=np.array([1.0, 0.0, 0.0, 0.0]),
                   row=np.array([0, 0, 1, 2]), writer=np.array(["a", "a", "b", "c"]),
                   ood=np.array([False, False, True]))
    figures = bank_figures(bank, np.array([0.9, 0.4, 0.8, 0.2]), accept=0.7, confirm=0.3)
    assert figures["in_domain"] == 0.5           # row 0 right, row 1 wrong
    assert figures["wrong"] == pytest.approx(1 / 3)  # row 1 answered at once, wrongly
    assert figures["wrong_in_domain"] == 0.5
    assert figures["ood_rejected"] == 1.0        # row 2 under the confirm band
