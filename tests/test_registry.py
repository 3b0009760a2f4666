"""The method registry and method configs: every registered method resolves and builds, overlays are
strict, the smoke overlay shrinks every method, and configs saved under the old block name still load."""

from __future__ import annotations

import json

import pytest
import yaml

from gawm.config import ConfigError
from gawm.method_config import CONFIG_DIR, load_method_config
from gawm.registry import DISPLAY, METHOD_ORDER, REGISTRY, WORLD_MODEL_METHODS, get_spec
from gawm.runs import read_run_config
from tests.conftest import SMOKE, fake_method, smoke_config


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_registered_method_resolves_and_builds(name):
    spec = get_spec(name)
    assert (CONFIG_DIR / f"{spec.config}.yaml").is_file()
    full, small = load_method_config(name, "3s_vs_3z"), smoke_config(name)
    assert set(full) == set(small) and "base" not in full
    method = fake_method(name, 3, 20, 9)
    assert ("imagination" in full) == spec.world_model == hasattr(method, "world_model")
    assert isinstance(spec.load_class(), type)


def test_derived_views_follow_the_registry_order():
    assert METHOD_ORDER == [DISPLAY[n] for n in REGISTRY]
    assert set(WORLD_MODEL_METHODS) == {n for n, s in REGISTRY.items() if s.world_model}
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        get_spec("nope")


def test_overlays_inherit_and_change_only_what_they_list():
    gawm, star = load_method_config("gawm", "8m"), load_method_config("gawm_star", "8m")
    assert star["world_model"].pop("obs_fusion") is False and gawm["world_model"].pop("obs_fusion") is True
    assert gawm == star
    mamba, mag = load_method_config("mamba", "8m"), load_method_config("mag", "8m")
    # MAG = MAMBA's tuned SMAC settings + its `mag:` block and its own model learning rate
    assert mag.pop("mag") and mag["world_model"].pop("lr") == 5e-4 and mamba["world_model"].pop("lr") == 2e-4
    assert mag == mamba


def test_smoke_overlay_skips_blocks_a_method_lacks_and_rejects_typos(tmp_path):
    assert "imagination" not in smoke_config("mappo") and smoke_config("mappo")["policy"]["actor_hidden"] == [16]
    assert smoke_config("mag")["policy"]["actor_hidden"] == [16, 16]  # mamba's entry reaches MAG too
    bad = tmp_path / "bad.yaml"
    for text, message in (("policy: {gama: 0.9}\n", "unknown key 'policy.gama'"),
                          ("polcy: {gamma: 0.9}\n", "unknown top-level block(s) 'polcy' (did you mean 'policy'?)"),
                          ("base: gawm\n", "names no base"),
                          ("methods: {nope: {}}\n", "unknown config(s) ['nope']")):
        bad.write_text(text)
        with pytest.raises(ConfigError) as err:
            load_method_config("mappo", "3s_vs_3z", bad)
        assert message in str(err.value)


def test_per_map_overrides_apply_to_their_map_only(tmp_path):
    over = tmp_path / "over.yaml"
    over.write_text(yaml.safe_dump({"maps": {"8m": {"runner": {"n_envs": 3}}}}))
    assert load_method_config("qmix", "8m", over)["runner"]["n_envs"] == 3
    assert load_method_config("qmix", "2s3z", over)["runner"]["n_envs"] == load_method_config("qmix", "2s3z")[
        "runner"]["n_envs"]


def test_a_run_saved_with_the_old_gawm_block_still_loads(tmp_path):
    cfg = smoke_config("mamba")
    cfg["gawm"] = cfg.pop("imagination")  # how config.json looked before the block was renamed
    (tmp_path / "config.json").write_text(json.dumps({"method": "mamba", "map": "3s_vs_3z", "seed": 1, "config": cfg,
                                                      "env_info": {"n_agents": 3}}))
    run = read_run_config(tmp_path)
    assert "gawm" not in run["config"] and run["config"]["imagination"] == smoke_config("mamba")["imagination"]


def test_smoke_overlay_is_the_one_the_workflow_uses():
    budgets = yaml.safe_load((SMOKE.parent.parent / "config.yaml").read_text())["budgets"]
    assert budgets["smoke"]["method_overlay"] == str(SMOKE.relative_to(SMOKE.parent.parent.parent))


@pytest.mark.parametrize("name", sorted(REGISTRY) + ["mag_surrogate"])
def test_every_metric_a_method_returns_has_a_progress_column(name):
    """progress.csv's columns are the method's metric_names; CsvLog refuses a key without a column, so an
    undeclared metric would stop the run: every key `update` returns must be declared (and nothing else)."""
    import numpy as np

    from gawm.collector import Collector
    from tests.conftest import real_method

    cfg = None
    if name == "mag_surrogate":  # MAG's other objective reports other metrics
        name, cfg = "mag", smoke_config("mag")
        cfg["mag"]["objective"] = "surrogate"
    method, env = real_method(name, cfg=cfg)
    metrics = {}
    for i in range(6):  # until the method has data enough to train
        Collector(env, method).run(method, 400, method.observe_episode)
        metrics = method.update(np.random.default_rng(i))
        if metrics:
            break
    assert metrics and set(metrics) == set(method.metric_names)


def test_csv_log_refuses_a_key_without_a_column(tmp_path):
    from gawm.io import CsvLog

    log = CsvLog(tmp_path / "p.csv", ["step", "loss"])
    log.append({"step": 1, "loss": 0.5})
    with pytest.raises(ValueError, match=r"no column for \['surprise'\]"):
        log.append({"step": 2, "loss": 0.4, "surprise": 1.0})
    assert log.rows() == [{"step": "1", "loss": "0.5"}]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_snapshot_is_the_networks_of_the_resume_state_and_acts_the_same(name):
    """state_dict() resumes training (last.pt); snapshot() holds the networks only (step_*.pt, final.pt):
    its keys are a subset, its tensors equal, and a fresh method loaded from it acts greedily the same."""
    import numpy as np
    import torch

    from tests.conftest import real_method

    method, env = real_method(name, seed=3)
    snap, full = method.snapshot(), method.state_dict()
    assert set(snap) < set(full)
    clone, _ = real_method(name, seed=4)
    clone.load_state_dict(snap)
    obs, avail, state = env.get_obs(), env.get_avail_actions(), env.get_state()
    reset = np.ones(env.n_envs, dtype=bool)
    a1, _ = method.act(obs, avail, state, method.init_hidden(env.n_envs), reset, deterministic=True)
    a2, _ = clone.act(obs, avail, state, clone.init_hidden(env.n_envs), reset, deterministic=True)
    np.testing.assert_array_equal(a1, a2)
    assert all(torch.equal(snap["policy" if "policy" in snap else "agent"][k], v)
               for k, v in full["policy" if "policy" in full else "agent"].items())


@pytest.mark.parametrize("variant", sorted(p.name for p in (SMOKE.parent.parent / "variants").glob("gawm_*.yaml")))
@pytest.mark.parametrize("name", ["gawm", "gawm_star", "mamba", "mag"])
def test_ablation_variants_change_only_what_they_name(variant, name):
    """Each issue-16 ablation overlay loads on every model-based method and changes exactly its own keys."""
    path = SMOKE.parent.parent / "variants" / variant
    base, varied = load_method_config(name, "3s_vs_3z"), load_method_config(name, "3s_vs_3z", path)
    wanted = yaml.safe_load(path.read_text())
    for block in set(base) | set(varied):
        for key in set(base[block]) | set(varied[block]):
            if key in wanted.get(block, {}):
                assert varied[block][key] == wanted[block][key]
            else:
                assert varied[block][key] == base[block][key], f"{variant} changed {block}.{key}"


def test_overlays_apply_in_order_and_train_takes_repeated_config(tmp_path):
    """Two overlays: the second sees the first's result (a variant, then a one-thread runner), later keys win;
    `gawm train --config A --config B` hands both to the runner, in that order."""
    from gawm.cli import build_parser

    variant = SMOKE.parent.parent / "variants" / "gawm_policy_schedule_cpu.yaml"
    runner = tmp_path / "one_thread.yaml"
    runner.write_text("runner: {torch_threads: 1}\nimagination: {policy_epochs: 2}\n")
    cfg = load_method_config("gawm", "3s_vs_3z", [variant, runner])
    assert cfg["runner"]["torch_threads"] == 1 and cfg["imagination"]["pseudo_capacity"] == 320
    assert cfg["imagination"]["policy_epochs"] == 2  # the later overlay wins
    assert load_method_config("gawm", "3s_vs_3z", [runner, variant])["imagination"]["policy_epochs"] == 1
    assert load_method_config("gawm", "3s_vs_3z", variant) == load_method_config("gawm", "3s_vs_3z", [variant])
    args = build_parser().parse_args(["train", "--method", "gawm", "--map", "3s_vs_3z", "--seed", "1", "--steps",
                                      "10", "--config", str(variant), "--config", str(runner)])
    assert args.config == [str(variant), str(runner)]


def test_mean_metrics_averages_each_key_over_the_records_that_carry_it():
    from gawm.methods import mean_metrics
    out = mean_metrics([{"a": 1.0, "fit": 4.0}, {"a": 3.0}, {"a": 5.0, "late": 2.0}])
    assert out == {"a": 3.0, "fit": 4.0, "late": 2.0} and list(out) == ["a", "fit", "late"]
