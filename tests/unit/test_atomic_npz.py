"""``ghp.io.atomic``'s ``.npz`` writer: byte-stable, readable, and an interruption mid-write stays an interruption."""

import zipfile

import numpy as np
import pytest

from ghp.io.atomic import npz_bytes, write_npz


def test_npz_round_trip_and_stable_bytes(tmp_path):
    arrays = {"a": np.arange(5.0), "n": np.int64(3)}
    assert npz_bytes(arrays) == npz_bytes(arrays)
    with np.load(write_npz(tmp_path / "s.npz", arrays)) as z:
        np.testing.assert_array_equal(z["a"], arrays["a"])
        assert int(z["n"]) == 3


def test_an_interrupt_inside_a_member_write_is_raised_as_itself(monkeypatch, tmp_path):
    # Ctrl-C or SIGTERM (raised as KeyboardInterrupt) while a member is open for writing: closing the archive would
    # raise "Can't close the ZIP file while there is an open writing handle", replacing the interrupt (a chromatic
    # run then exited 2 with that message instead of 143 with its resume hint).
    def interrupted(self, info, data):
        handle = self.open(info, "w")  # the member's handle, open (the traceback keeps this frame) as mid-write
        raise KeyboardInterrupt(handle)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", interrupted)
    (tmp_path / "s.npz").write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        write_npz(tmp_path / "s.npz", {"a": np.zeros(3)})
    assert (tmp_path / "s.npz").read_bytes() == b"old"  # the old file stays whole
