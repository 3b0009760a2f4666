"""Real and pseudo replay buffers: row layout, windows, FIFO eviction, checkpoints."""

import numpy as np
import pytest
import torch

from gawm.buffers import PSEUDO_KEYS, PseudoBuffer, RealBuffer

N, O, S, A = 2, 3, 4, 5


def episode(T, rng, terminated=True, tag=0.0):
    obs = rng.normal(size=(T + 1, N, O)).astype(np.float32)
    obs[:, 0, 0] = tag  # lets a test tell episodes apart
    return dict(
        obs=obs, state=rng.normal(size=(T + 1, S)).astype(np.float32),
        avail=np.ones((T + 1, N, A), bool), actions=rng.integers(0, A, size=(T, N)),
        rewards=rng.normal(size=T).astype(np.float32), terminated=terminated,
        alive=np.ones((T + 1, N), bool),
    )


def test_rows_of_one_small_episode_hand_checked():
    buf = RealBuffer(100, N, O, S, A)
    ep = dict(
        obs=np.arange(3 * N * O, dtype=np.float32).reshape(3, N, O), state=np.zeros((3, S)),
        avail=np.ones((3, N, A), bool), actions=np.array([[1, 2], [3, 0]]), rewards=np.array([0.5, 2.0]),
        terminated=True, alive=np.array([[1, 1], [1, 0], [1, 0]], bool),
    )
    buf.add_episode(**ep)
    assert len(buf) == 3 and buf.num_episodes == 1 and buf.total_steps == 2
    rows = buf.recent_episodes(1)[0]
    np.testing.assert_array_equal(rows["obs"], ep["obs"])
    np.testing.assert_array_equal(rows["is_first"], [True, False, False])
    np.testing.assert_array_equal(rows["reward"], [0.0, 0.5, 2.0])
    np.testing.assert_array_equal(rows["discount"], [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(rows["action"], [[1, 2], [3, 0], [-1, -1]])
    assert rows["prev_action"][0].sum() == 0
    np.testing.assert_array_equal(rows["prev_action"][1].argmax(-1), [1, 2])
    np.testing.assert_array_equal(rows["prev_action"][2].argmax(-1), [3, 0])
    np.testing.assert_array_equal(rows["alive"], ep["alive"])
    # a time-limit end keeps discount 1
    buf.add_episode(**{**ep, "terminated": False})
    assert buf.recent_episodes(1)[0]["discount"][-1] == 1.0


def test_smoothing_applies_per_episode_to_reward_target_only():
    calls = []

    def smooth(r):
        calls.append(len(r))
        return np.full_like(r, r.mean())

    buf = RealBuffer(100, N, O, S, A, reward_fn=smooth)
    rng = np.random.default_rng(0)
    e1, e2 = episode(3, rng), episode(5, rng)
    buf.add_episode(**e1)
    buf.add_episode(**e2)
    assert calls == [3, 5]
    for rows, e in zip(buf.recent_episodes(2), (e1, e2)):
        np.testing.assert_allclose(rows["reward"][1:], e["rewards"])
        np.testing.assert_allclose(rows["reward_target"][1:], e["rewards"].mean(), rtol=1e-6)
        assert rows["reward_target"][0] == 0.0


def test_sampled_windows_shapes_and_consistency():
    rng = np.random.default_rng(1)
    buf = RealBuffer(60, N, O, S, A)
    for i, T in enumerate([3, 7, 1, 10, 4, 9, 2, 6]):
        buf.add_episode(**episode(T, rng, terminated=bool(i % 2), tag=float(i)))
    B, L = 32, 6
    batch = buf.sample_sequences(B, L, rng)
    shapes = {"obs": (B, L, N, O), "state": (B, L, S), "avail": (B, L, N, A), "alive": (B, L, N),
              "prev_action": (B, L, N, A), "action": (B, L, N), "reward": (B, L), "reward_target": (B, L),
              "discount": (B, L), "is_first": (B, L)}
    assert set(batch) == set(shapes)
    for k, s in shapes.items():
        assert tuple(batch[k].shape) == s, k
        assert isinstance(batch[k], torch.Tensor)
    first = batch["is_first"]
    # is_first <-> zero prev_action and reward; otherwise prev_action is the one-hot of the previous row's action
    assert torch.all(batch["prev_action"][first] == 0) and torch.all(batch["reward"][first] == 0)
    nf = ~first[:, 1:]
    prev_onehot = batch["prev_action"][:, 1:].argmax(-1)
    assert torch.equal(prev_onehot[nf], batch["action"][:, :-1][nf])
    assert torch.all(batch["prev_action"][:, 1:][nf].sum(-1) == 1)
    # a row with action -1 (episode end) is followed by a first row; the episode tag is constant in between
    last = batch["action"][:, :-1, 0] == -1
    assert torch.all(first[:, 1:][last])
    tag = batch["obs"][..., 0, 0]
    assert torch.all((tag[:, 1:] == tag[:, :-1]) | first[:, 1:])


def test_fifo_eviction_keeps_whole_episodes_and_windows_stay_fresh():
    rng = np.random.default_rng(2)
    buf = RealBuffer(20, N, O, S, A)
    lengths = [4, 6, 3, 8, 5, 7]
    for i, T in enumerate(lengths):
        buf.add_episode(**episode(T, rng, tag=float(i)))
        assert len(buf) <= 20
    # rows 5,7,4,9,6,8 into 20: [5,7,4] -> +9 evicts 5 -> +6 evicts 7 -> +8 evicts 4 and 9 -> [6,8]
    kept = [int(r["obs"][0, 0, 0]) for r in buf.recent_episodes(99)]
    assert kept == [4, 5]
    assert len(buf) == 6 + 8 and buf.num_episodes == 2 and buf.total_steps == 5 + 7
    for r, i in zip(buf.recent_episodes(99), kept):
        assert len(r["reward"]) == lengths[i] + 1 and r["is_first"][0] and r["is_first"][1:].sum() == 0
    batch = buf.sample_sequences(64, len(buf), rng)  # the one window covering everything stored
    assert set(np.unique(batch["obs"][..., 0, 0].numpy()).tolist()) == {4.0, 5.0}
    assert buf.episodes_seen == 6 and buf.steps_seen == sum(lengths)
    with pytest.raises(ValueError):
        buf.sample_sequences(1, len(buf) + 1, rng)
    with pytest.raises(ValueError):
        buf.add_episode(**episode(25, rng))


def test_real_buffer_state_dict_round_trip():
    rng = np.random.default_rng(3)
    buf = RealBuffer(25, N, O, S, A)
    for i, T in enumerate([5, 9, 4, 7]):  # wraps the ring
        buf.add_episode(**episode(T, rng, tag=float(i)))
    buf2 = RealBuffer(25, N, O, S, A)
    buf2.load_state_dict(buf.state_dict())
    assert (len(buf2), buf2.num_episodes, buf2.total_steps, buf2.steps_seen) == \
           (len(buf), buf.num_episodes, buf.total_steps, buf.steps_seen)
    b1 = buf.sample_sequences(8, 5, np.random.default_rng(9))
    b2 = buf2.sample_sequences(8, 5, np.random.default_rng(9))
    for k in b1:
        assert torch.equal(b1[k], b2[k]), k
    buf.add_episode(**episode(6, rng, tag=9.0))
    buf2.add_episode(**episode(6, np.random.default_rng(0), tag=9.0))
    assert [int(r["obs"][0, 0, 0]) for r in buf.recent_episodes(9)] == \
           [int(r["obs"][0, 0, 0]) for r in buf2.recent_episodes(9)]
    with pytest.raises(ValueError):
        RealBuffer(30, N, O, S, A).load_state_dict(buf.state_dict())


def pseudo_batch(k, B, tag, H=7, C=6):
    rollout = {
        "obs": np.full((k + 1, B, N, O), tag, np.float32), "avail": np.ones((k + 1, B, N, A), bool),
        "critic_in": np.zeros((k + 1, B, N, C), np.float32), "actions": np.zeros((k, B, N), np.int64),
        "old_log_probs": np.zeros((k, B, N), np.float32), "rewards": np.zeros((k, B), np.float32),
        "discounts": np.ones((k, B), np.float32), "actor_h0": torch.zeros(B, N, H),
        "critic_h0": torch.zeros(B, N, H),
    }
    assert set(rollout) == set(PSEUDO_KEYS)
    return rollout


def test_pseudo_buffer_capacity_and_sampling():
    rng = np.random.default_rng(4)
    pb = PseudoBuffer(capacity=10)
    with pytest.raises(ValueError):
        pb.sample(2, rng)
    for tag in range(4):
        pb.add(pseudo_batch(3, 4, float(tag)))
    assert len(pb) == 10 and pb.num_batches == 3  # batch 0 fully evicted, batch 1 half
    r = pb.sample(6, rng)
    assert r["obs"].shape == (4, 6, N, O) and r["actions"].shape == (3, 6, N)
    assert r["rewards"].shape == (3, 6) and r["actor_h0"].shape == (6, N, 7)
    assert r["resets"].shape == (3, 6) and not r["resets"].any()
    tags = r["obs"][0, :, 0, 0]
    assert set(tags.tolist()) <= {1.0, 2.0, 3.0}
    assert len(set(pb.sample(10, rng)["obs"][0, :, 0, 0].tolist())) == 3  # all slots, across batches
    with pytest.raises(ValueError):
        pb.add(pseudo_batch(4, 2, 0.0))  # different k
    pb.clear()
    assert len(pb) == 0



def test_real_buffer_snapshot_survives_torch_save_weights_only(tmp_path):
    rng = np.random.default_rng(5)
    buf = RealBuffer(30, N, O, S, A)
    buf.add_episode(**episode(4, rng))
    torch.save(buf.state_dict(), tmp_path / "b.pt")
    buf2 = RealBuffer(30, N, O, S, A)
    buf2.load_state_dict(torch.load(tmp_path / "b.pt", weights_only=True))
    np.testing.assert_array_equal(buf2.recent_episodes(1)[0]["obs"], buf.recent_episodes(1)[0]["obs"])


def test_real_buffer_checkpoint_omits_prev_action_and_rebuilds_it():
    """prev_action is a copy of the previous row's action: not saved, rebuilt exactly on load (ring wrapped,
    episodes of different lengths); a snapshot that saved it (the older layout) still loads."""
    rng = np.random.default_rng(5)
    buf = RealBuffer(40, N, O, S, A)
    for i, T in enumerate([9, 3, 12, 1, 8, 11]):  # wraps the ring
        buf.add_episode(**episode(T, rng, tag=float(i)))
    sd = buf.state_dict()
    assert all("prev_action" not in chunk for chunk in sd["row_chunks"])
    loaded = RealBuffer(40, N, O, S, A)
    loaded.load_state_dict(sd)
    old = dict(sd, row_chunks=[{**c, "prev_action": torch.from_numpy(p)} for c, p in zip(
        sd["row_chunks"], np.split(np.concatenate([r["prev_action"] for r in buf.recent_episodes(99)]),
                                   np.cumsum([len(c["obs"]) for c in sd["row_chunks"]])[:-1]))])
    from_old = RealBuffer(40, N, O, S, A)
    from_old.load_state_dict(old)
    for other in (loaded, from_old):
        for a, b in zip(buf.recent_episodes(99), other.recent_episodes(99)):
            for k in a:
                np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_a_stateless_buffer_reads_a_snapshot_that_kept_the_state():
    """The world-model methods keep no env state in B_r (state_dim 0); their older checkpoints did."""
    rng = np.random.default_rng(6)
    buf = RealBuffer(30, N, O, S, A)
    for T in (4, 6):
        buf.add_episode(**episode(T, rng))
    lean = RealBuffer(30, N, O, 0, A)
    lean.load_state_dict(buf.state_dict())
    a, b = buf.recent_episodes(2), lean.recent_episodes(2)
    assert b[0]["state"].shape == (5, 0)
    np.testing.assert_array_equal(a[1]["obs"], b[1]["obs"])
    np.testing.assert_array_equal(a[1]["prev_action"], b[1]["prev_action"])
    with pytest.raises(ValueError):  # other dims must still match
        RealBuffer(30, N, O + 1, 0, A).load_state_dict(buf.state_dict())


def test_pseudo_buffer_narrows_a_column_it_no_longer_stores():
    buf = PseudoBuffer(10)
    buf.add(pseudo_batch(3, 4, 1.0))
    buf.narrow_feature("critic_h0", 0)
    batch = pseudo_batch(3, 2, 2.0)
    batch["critic_h0"] = batch["critic_h0"][..., :0]
    buf.add(batch)  # the new, narrow layout
    assert buf.sample(6, np.random.default_rng(0))["critic_h0"].shape[-1] == 0
