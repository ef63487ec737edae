"""Print what a config trains: ``python -m ecgtricks.describe [overrides]``.

The tricks in effect, the network, ``params=N`` and the forward FLOPs of one 2,048-sample chunk.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from ecgtricks.runs import config, recipes  # noqa: F401 (config registers the schema)
from ecgtricks.utils.conf import as_dict
from ecgtricks.utils.console import hydra_entry, user_errors
from ecgtricks.utils.paths import config_dir


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
@user_errors
def main(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    from ecgtricks.models import build_model, forward_flops
    from ecgtricks.scoring.editions import edition

    cfg = recipes.resolve(cfg, list(HydraConfig.get().overrides.task))
    model_cfg = as_dict(cfg.model)
    name = model_cfg.pop("name")
    in_channels = len(cfg.data.leads)
    net = build_model(cfg.model, in_channels, edition(cfg.data.edition).n_classes)
    tricks = sorted(cfg.tricks)
    print(f"experiment: {cfg.name}")
    print(f"tricks: {', '.join(tricks) if tricks else '(none)'}")
    print(f"model: {name} {model_cfg}")
    print(net)
    print(f"params={sum(p.numel() for p in net.parameters())}")
    flops = forward_flops(net, in_channels)
    print(f"flops_per_chunk={flops} ({flops / 1e9:.3f} GFLOP per 2,048-sample chunk, forward)")


if __name__ == "__main__":
    hydra_entry(main)
