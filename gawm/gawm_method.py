"""GAWM and GAWM* (the method under test) on the shared model-based loop (gawm.imagination_method).

What makes GAWM GAWM (config/methods/gawm.yaml): the world model's observation fusion f_of (Eq. 1c) and
pooled team heads (Sec. 3.1), the smoothed reward targets (Eqs. 4-5), and a CTDE actor that reads
*reconstructed local observations* in imagination and its real observation in execution (never world-model
features), with a GRU memory; the critic reads the joint reconstructed observations. GAWM* is the same with
`world_model.obs_fusion: false` (config/methods/gawm_star.yaml); nothing else changes.
"""

from __future__ import annotations

from gawm.acting import ConfiguredActing
from gawm.imagination_method import ImaginationMethod


class GAWMMethod(ConfiguredActing, ImaginationMethod):
    """Acts like MAPPO on real observations (gawm.acting.PolicyActing); trains on imagined rollouts
    (ImaginationMethod). `imagination.actor_input: features` is the ablation of the CTDE actor: the actor then
    reads the world-model features [h_i, z_i] in imagination and, filtering its observations through the world
    model, at execution (gawm.acting.FeatureActing), as MAMBA's does."""

    actor_inputs = ("obs", "features")  # its own: (reconstructed) local observations
