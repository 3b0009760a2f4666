"""Laws of the reward trend smoothing (Eqs. 4-5)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gawm.smoothing import gaussian_kernel, smooth_rewards

episodes = arrays(np.float64, st.integers(1, 120), elements=st.floats(0.0, 20.0, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(r=episodes, window=st.integers(0, 12), sigma=st.floats(0.0, 8.0))
def test_total_is_kept(r, window, sigma):
    assert smooth_rewards(r, window, sigma).sum() == pytest.approx(r.sum(), abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(r=episodes, window=st.integers(0, 12))
def test_identity_when_sigma_goes_to_zero(r, window):
    np.testing.assert_allclose(smooth_rewards(r, window, 0.0), r)
    np.testing.assert_allclose(smooth_rewards(r, window, 1e-3), r, atol=1e-12)  # taps at |i|>=1 underflow
    np.testing.assert_allclose(smooth_rewards(r, 0, 3.0), r)


@settings(max_examples=30, deadline=None)
@given(r=episodes, window=st.integers(1, 12), sigma=st.floats(0.1, 8.0))
def test_nonnegative_rewards_stay_nonnegative(r, window, sigma):
    assert (smooth_rewards(r, window, sigma) >= -1e-12).all()


def test_equals_eq4_in_the_interior():
    rng = np.random.default_rng(0)
    r = rng.random(50)
    H, sigma = 3, 1.5
    f = gaussian_kernel(H, sigma)
    assert f.sum() == pytest.approx(1.0) and np.allclose(f, f[::-1])
    out = smooth_rewards(r, H, sigma)
    for t in range(2 * H, 50 - 2 * H):  # Eq. (4) by hand, clip never active and every column full
        assert out[t] == pytest.approx(sum(f[i + H] * r[t + i] for i in range(-H, H + 1)))


def test_win_bonus_is_spread_backwards_but_kept():
    r = np.zeros(30)
    r[-1] = 10.0  # a terminal bonus
    out = smooth_rewards(r, 4, 2.0)
    assert out.sum() == pytest.approx(10.0)
    assert out[-1] < 10.0 and out[-5] > 0 and out[:-5].sum() == 0.0


def test_bad_arguments():
    with pytest.raises(ValueError):
        smooth_rewards(np.zeros((2, 3)), 2, 1.0)
    with pytest.raises(ValueError):
        smooth_rewards(np.zeros(5), -1, 1.0)
