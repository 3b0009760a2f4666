"""Small numpy helpers that the battle engine calls tens of times per env step.

On the small arrays of one battle (a few units), numpy's per-call overhead is most of the cost, so how a
question is asked matters: `np.count_nonzero(a) != 0` answers "is anything true?" in about half the time
`a.any()` takes on arrays of up to a few thousand elements (about 0.6-1.5 us against 2-3 us on (1, 6) to
(1, 30, 30) bool arrays: `ndarray.any` goes through numpy's Python-level `_methods._any` and a ufunc
reduction), but it counts every element, so on the (64, U, U) tables of 64 battles `a.any()` is faster
(1.9 us against 4.9 us at 64 x 24 x 24). Same answer either way.
"""

from __future__ import annotations

import numpy as np

SMALL = 4096  # elements: below this count_nonzero wins (measured crossover 3,600-16,000 on this machine)


def any_true(a: np.ndarray) -> bool:
    """Whether any element of `a` is true (non-zero): `bool(a.any())`, faster on the small arrays of one battle."""
    return np.count_nonzero(a) != 0 if a.size <= SMALL else bool(a.any())
