"""ecgtricks' Hydra launcher plugin (Hydra finds launchers only in the ``hydra_plugins`` namespace):
``hydra/launcher=slurm`` (``configs/hydra/launcher/slurm.yaml``), see :mod:`.slurm_launcher`."""
