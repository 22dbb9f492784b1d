"""ghp's unpickler builds only the data classes of a run and refuses anything else (issue 26, item 1)."""

import pickle

import numpy as np
import pytest

from ghp.io.safepickle import RefusedPickle, loads


class Payload:
    """Unpickling this with pickle.load would write a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


def test_a_payload_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "marker"
    data = pickle.dumps({"x": Payload(marker)})
    with pytest.raises(RefusedPickle) as e:
        loads(data, "the test file")
    assert "builtins.exec" in str(e.value) and "docs/security.md" in str(e.value)
    assert not marker.exists()
    pickle.loads(data)  # what a plain unpickler does
    assert marker.read_text() == "ran"


@pytest.mark.parametrize("name", ["os.system", "subprocess.Popen", "builtins.eval", "torch.load", "numpy.load"])
def test_dangerous_globals_are_refused(name):
    module, attr = name.rsplit(".", 1)
    data = b"\x80\x04c" + f"{module}\n{attr}\n".encode() + b"."
    with pytest.raises(RefusedPickle):
        loads(data, "a crafted file")


def test_the_data_of_a_run_loads():
    import gymnasium as gym
    from stable_baselines3.common.running_mean_std import RunningMeanStd

    box = gym.spaces.Box(-1.0, 1.0, (3,), np.float32, seed=1)
    rms = RunningMeanStd(shape=(3,))
    rms.update(np.arange(6.0).reshape(2, 3))
    for obj in (box, rms, np.arange(4, dtype=np.float32), np.random.default_rng(0), np.float64(2.5)):
        back = loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), "test")
        assert type(back) is type(obj)
    back = loads(pickle.dumps(rms), "test")
    assert np.array_equal(back.mean, rms.mean) and back.count == rms.count
