"""What every command line entry point shares: logging, a quiet Lightning, one-line user errors."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from ecgtricks.utils.errors import ECGTricksError

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """Report the project's own errors as one line on stderr and exit 2, without a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ECGTricksError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None

    return wrapper  # type: ignore[return-value]


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="[%(asctime)s %(levelname)s] %(message)s", datefmt="%H:%M:%S")


class _Chatter(logging.Filter):
    """Lightning's INFO lines that need no action from the user."""

    NOISE = ("Tip:", "litlogger", "LitLogger", "Loading `train_dataloader`", "TPU available", "HPU available")

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(text in record.getMessage() for text in self.NOISE)


def quiet_lightning() -> None:
    """Keep Lightning's tips and deprecation chatter off the console and out of train.log."""
    import warnings

    for name in ("pytorch_lightning.utilities.rank_zero", "lightning.pytorch.utilities.rank_zero",
                 "lightning_fabric.utilities.rank_zero"):
        logging.getLogger(name).addFilter(_Chatter())
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module="pytorch_lightning")
    # Advice that does not apply: the loader gathers whole batches in one call (workers rarely
    # help), and short test runs have fewer batches than the logging interval.
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
    # Lightning's hint to start multi-process runs with srun, shown on every machine that has
    # SLURM installed; SLURM jobs (hydra/launcher=slurm) do run under srun.
    warnings.filterwarnings("ignore", message=".*The `srun` command is available on your system.*")


class SacctOnce(logging.Filter):
    """For the ``submitit`` logger: its "Bypassing sacct error" warning, printed at every poll of
    a sweep's jobs (three lines each: submitit's two handlers and Hydra's) where SLURM keeps no
    accounting, becomes one line the first time and nothing after."""

    PATTERN = "Bypassing sacct error"
    MESSAGE = "SLURM accounting (sacct) is unavailable: submitit cannot read job states ({})"

    def __init__(self) -> None:
        super().__init__()
        self.seen = False

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.PATTERN not in message:
            return True
        if not self.seen:
            self.seen = True
            reason = message.split(self.PATTERN, 1)[1].split(", status may be inaccurate")[0].strip()
            logging.getLogger("ecgtricks.launch").warning(self.MESSAGE.format(reason))
        return False


def install_sacct_filter() -> None:
    """Install :class:`SacctOnce` on the ``submitit`` logger (once): the launcher polls in the
    process that started the sweep."""
    logger = logging.getLogger("submitit")
    if not any(isinstance(f, SacctOnce) for f in logger.filters):
        logger.addFilter(SacctOnce())


def _one_line(exc: BaseException) -> str:
    """A composition error and its cause as one line: OmegaConf's node details and Hydra's
    search path dropped, a list of available options joined by commas."""
    out: list[str] = []
    options: list[str] = []
    for error in (exc, exc.__cause__):
        for line in ("" if error is None else str(error)).splitlines():
            line = line.strip().rstrip(":")
            if not line or line.startswith(("full_key", "reference_type", "object_type", "Set the environment")):
                continue
            if line.startswith("Config search path"):
                break
            if " " not in line and out:  # one option of a list
                options.append(line)
                continue
            if options:
                out[-1] += ": " + ", ".join(options)
                options = []
            out.append(line)
    if options:
        out[-1] += ": " + ", ".join(options)
    return "; ".join(dict.fromkeys(out))


def hydra_entry(main: Callable[[], Any]) -> None:
    """Run a ``@hydra.main`` entry point so that a config that does not compose (an unknown key,
    a value outside its choices, a missing config file) is one line on stderr and exit code 2,
    like every other user error; a bug keeps its full traceback."""
    import os

    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    os.environ.setdefault("HYDRA_FULL_ERROR", "1")  # let Hydra raise instead of printing
    install_sacct_filter()
    try:
        main()
    except (HydraException, OmegaConfBaseException) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        raise SystemExit(2) from None
