"""Print what a config trains: ``python -m ecgtricks.describe [overrides]``.

The tricks in effect, the network, ``params=N`` and the forward FLOPs of one 2,048-sample chunk.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig, OmegaConf

from ecgtricks.cli import user_errors
from ecgtricks.paths import config_dir


def forward_flops(net, in_channels: int, samples: int = 2048) -> int:
    """FLOPs (multiply and add counted separately) of one forward pass of one chunk."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    net.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(torch.zeros(1, in_channels, samples))
    return int(counter.get_total_flops())


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
@user_errors
def main(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    from ecgtricks.labels import SCORED_CLASSES
    from ecgtricks.models import create_model
    from ecgtricks.train import compose_without

    if cfg.without:
        cfg = compose_without(cfg, list(HydraConfig.get().overrides.task))
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    name = model_cfg.pop("name")
    in_channels = len(cfg.data.leads)
    net = create_model(name, in_channels=in_channels, num_classes=len(SCORED_CLASSES), **model_cfg)
    tricks = sorted(cfg.tricks)
    print(f"experiment: {cfg.name}")
    print(f"tricks: {', '.join(tricks) if tricks else '(none)'}")
    print(f"model: {name} {model_cfg}")
    print(net)
    print(f"params={sum(p.numel() for p in net.parameters())}")
    flops = forward_flops(net, in_channels)
    print(f"flops_per_chunk={flops} ({flops / 1e9:.3f} GFLOP per 2,048-sample chunk, forward)")


if __name__ == "__main__":
    main()
