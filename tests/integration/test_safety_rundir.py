"""A run directory cannot run code, and is written by one process at a time (issue 26, items 1 and 8).

A crafted run hides a payload that writes a marker file in each pickle ghp reads: ``model.zip``'s ``data``
entries, the normalisation statistics and the replay buffer. Loading, evaluating and resuming must not run it; a
normal run still loads exactly as SB3's own loader loads it.
"""

import base64
import json
import pickle
import shutil
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli
from ghp.io.lock import run_lock
from ghp.rl.config import TrainConfig
from ghp.rl.train import train
from ghp.run.layout import read_config
from ghp.run.load import load_model, load_run

TINY = dict(steps=200, n_envs=2, widths=(4, 8), depths=(1,), learning_starts=100, eval_every=0)


class Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "sac"
    train(TrainConfig(env_id="Pendulum-v1", out=str(out), normalize=True, **TINY))
    return out


@pytest.fixture
def run(trained, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


def craft_model(model_zip, key, marker):
    """Replace ``key`` of the model's ``data`` with a payload, as SB3 stores a cloudpickled entry."""
    with zipfile.ZipFile(model_zip) as z:
        members = {n: z.read(n) for n in z.namelist()}
    data = json.loads(members["data"])
    data[key] = {":type:": "<class 'x'>", ":serialized:": base64.b64encode(pickle.dumps(Payload(marker))).decode()}
    members["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(model_zip, "w") as z:
        for name, blob in members.items():
            z.writestr(name, blob)


def evaluate_cli(run):
    return CliRunner().invoke(cli, ["evaluate", str(run), "--archs", "4", "--episodes", "1", "--workers", "0"])


@pytest.mark.parametrize("key", ["observation_space", "action_space", "_last_obs", "replay_buffer_class"])
def test_a_payload_in_model_data_is_refused(run, tmp_path, key):
    marker = tmp_path / "marker"
    craft_model(run / "model.zip", key, marker)
    with pytest.raises(ValueError, match="builtins.exec") as e:
        load_run(run)
    assert "docs/security.md" in str(e.value) and "\n" not in str(e.value)
    r = evaluate_cli(run)
    assert r.exit_code == 2 and "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert not marker.exists()


@pytest.mark.parametrize("key", ["policy_class", "lr_schedule"])
def test_entries_rebuilt_from_the_config_are_never_unpickled(run, tmp_path, key):
    marker = tmp_path / "marker"
    craft_model(run / "model.zip", key, marker)
    loaded = load_run(run)  # the payload's entry is replaced by the config's, unread
    assert type(loaded.model.policy).__name__ == "GHPSACPolicy"
    assert not marker.exists()


def test_a_payload_in_the_normalisation_statistics_is_refused(run, tmp_path):
    marker = tmp_path / "marker"
    for f in [run / "model.vecnormalize.pkl", *run.glob("checkpoints/*.vecnormalize.pkl")]:
        f.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(ValueError, match="builtins.exec"):
        load_run(run)
    r = evaluate_cli(run)
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    r = CliRunner().invoke(cli, ["train", "--env", "Pendulum-v1", "--out", str(run), "--resume", "--steps", "300"])
    assert r.exit_code == 2 and "builtins.exec" in r.output, r.output
    assert not marker.exists()


def test_a_payload_in_the_replay_buffer_is_refused_on_resume(run, tmp_path):
    marker = tmp_path / "marker"
    (run / "checkpoints" / "replay_buffer.pkl").write_bytes(pickle.dumps([1, Payload(marker)]))
    r = CliRunner().invoke(
        cli, ["train", "--env", "Pendulum-v1", "--out", str(run), "--resume", "--steps", "300", "--quiet"]
    )
    assert r.exit_code == 2 and "builtins.exec" in r.output and "Traceback" not in r.output, r.output
    assert not marker.exists()


def test_a_normal_run_loads_as_sb3_loads_it(trained):
    from stable_baselines3 import SAC
    from stable_baselines3.common.vec_env import VecNormalize

    import ghp.hypernet.policies  # noqa: F401

    ours = load_model(trained / "model.zip", read_config(trained), device="cpu")
    stock = SAC.load(trained / "model.zip", device="cpu")  # a stock load still reads the run
    assert ours.observation_space == stock.observation_space and ours.action_space == stock.action_space
    assert type(ours.policy) is type(stock.policy) and ours.num_timesteps == stock.num_timesteps
    assert ours.lr_schedule(0.5) == stock.lr_schedule(0.5) and ours.train_freq == stock.train_freq
    import torch

    for a, b in zip(ours.policy.state_dict().values(), stock.policy.state_dict().values(), strict=True):
        assert torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b
    assert np.array_equal(ours._last_obs, stock._last_obs)

    from ghp.rl.replay import load_replay_buffer

    path = trained / "checkpoints" / "replay_buffer.pkl"
    load_replay_buffer(ours, path, 0)
    stock.load_replay_buffer(path)
    for name in ("observations", "actions", "rewards", "dones", "timeouts"):
        assert np.array_equal(getattr(ours.replay_buffer, name), getattr(stock.replay_buffer, name))
    assert ours.replay_buffer.pos == stock.replay_buffer.pos

    from ghp.policy.normalize import load_vec_normalize

    mine = load_vec_normalize(trained / "model.vecnormalize.pkl")
    with open(trained / "model.vecnormalize.pkl", "rb") as f:
        theirs = pickle.load(f)  # what VecNormalize.load reads, before attaching an environment
    assert isinstance(theirs, VecNormalize) and type(mine) is type(theirs)
    assert np.array_equal(mine.obs_rms.mean, theirs.obs_rms.mean) and mine.clip_obs == theirs.clip_obs


def test_a_truncated_replay_buffer_is_one_line_and_can_be_left_out(run):
    path = run / "checkpoints" / "replay_buffer.pkl"
    path.write_bytes(path.read_bytes()[:1000])
    args = ["train", "--env", "Pendulum-v1", "--out", str(run), "--resume", "--steps", "300", "--quiet"]
    before = (run / "model.zip").read_bytes()
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    error = r.output.strip().splitlines()[-1]  # after the notice of the changed --steps
    assert error.startswith("ghp: error: the replay buffer") and "truncated" in error and "--no-replay-buffer" in error
    assert (run / "model.zip").read_bytes() == before
    r = CliRunner().invoke(cli, [*args, "--no-replay-buffer"])
    assert r.exit_code == 0, r.output
    assert "refilled with 100 random-action steps" in r.output
    assert load_run(run).timesteps == 300


def test_a_second_writer_is_refused(run):
    before = (run / "model.zip").read_bytes()
    with run_lock(run, "train --resume"):
        r = CliRunner().invoke(
            cli, ["train", "--env", "Pendulum-v1", "--out", str(run), "--resume", "--steps", "300", "--quiet"]
        )
    assert r.exit_code == 2 and "is being written by" in r.output and "Traceback" not in r.output, r.output
    assert (run / "model.zip").read_bytes() == before


def test_saves_leave_no_temporary_files(trained):
    leftovers = [p for p in trained.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".ghp-")]
    assert leftovers == []
