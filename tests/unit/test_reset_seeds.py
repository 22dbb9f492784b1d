"""Screening and confirmation starts: disjoint by construction, whatever the seeds."""

import numpy as np
import pytest

from ghp.rollout.engine import reset_seed


def test_confirmation_seeds_never_meet_screening_seeds():
    screen = {reset_seed(s, e) for s in range(20) for e in range(200)}
    confirm = [reset_seed(s, e, "confirm") for s in range(20) for e in range(200)]
    assert max(screen) < 2**32 <= min(confirm)  # the property: two ranges, so no overlap for any seed or episode
    assert not screen & set(confirm)
    # One confirmation's episodes have distinct starts (the episode is in the high word).
    for s in range(20):
        assert len({reset_seed(s, e, "confirm") for e in range(1000)}) == 1000
    # Screening seeds are unchanged by the new kind (results files of version 4 keep their meaning).
    assert reset_seed(3, 7) == int(np.random.SeedSequence([3, 7]).generate_state(1, np.uint32)[0])
    with pytest.raises(ValueError, match="kind"):
        reset_seed(0, 0, "other")
