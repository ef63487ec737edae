"""A liberal parser for WFDB headers as they occur in the Challenge 2020/2021 data.

wfdb's own parser rejects dialects found in real challenge files (a record line that names the
``.mat`` file, ``# Dx:`` with a space, ``#Age: NaN``), so the header is read here and wfdb serves
as the reference in the tests. Everything parsed is checked; problems raise ``RecordError``
naming the file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ecgtricks.utils.errors import RecordError

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
# gain[(baseline)][/units], e.g. "1000/mV", "1000.0(0)/mV", "200", "" (WFDB default 200)
_GAIN = re.compile(rf"^(?P<gain>{_NUMBER})?(?:\((?P<baseline>[-+]?\d+)\))?(?:/(?P<units>\S+))?$")
# format[xsamples_per_frame][:skew][+byte_offset], e.g. "16", "16+24", "16x1+24"
_FORMAT = re.compile(r"^(?P<fmt>\d+)(?:x(?P<spf>\d+))?(?::(?P<skew>\d+))?(?:\+(?P<offset>\d+))?$")
_COMMENT = re.compile(r"^#\s*(?P<key>[A-Za-z][\w ]*?)\s*:\s*(?P<value>.*?)\s*$")
UNIT_SCALE_TO_MV = {"mv": 1.0, "uv": 1e-3, "μv": 1e-3, "v": 1e3}
_MISSING = {"", "nan", "none", "unknown", "n/a", "na", "?"}


@dataclass(frozen=True)
class SignalSpec:
    file_name: str
    fmt: int
    byte_offset: int
    gain: float
    baseline: int
    units: str
    adc_resolution: int
    adc_zero: int
    initial_value: int | None
    checksum: int | None
    lead_name: str


@dataclass(frozen=True)
class Header:
    path: Path
    record_name: str
    n_signals: int
    fs: float
    n_samples: int
    signals: tuple[SignalSpec, ...]
    comments: dict[str, str] = field(default_factory=dict)

    @property
    def lead_names(self) -> tuple[str, ...]:
        return tuple(s.lead_name for s in self.signals)

    @property
    def labels(self) -> tuple[str, ...]:
        """Every diagnosis code listed under ``Dx`` (scored or not), in header order."""
        return _codes(self.comments.get("dx", ""))

    @property
    def age(self) -> float | None:
        raw = self.comments.get("age", "").strip()
        if raw.lower() in _MISSING:
            return None
        try:
            age = float(raw)
        except ValueError:
            return None
        return None if math.isnan(age) or age < 0 else age

    @property
    def sex(self) -> str | None:
        raw = self.comments.get("sex", "").strip().lower()
        if raw in ("male", "m"):
            return "Male"
        if raw in ("female", "f"):
            return "Female"
        return None


def _number(path: Path, text: str, what: str, kind: type = float) -> float:
    match = re.match(_NUMBER, text)
    if not match or match.group(0) != text.split("/")[0].split("(")[0]:
        raise RecordError(path, f"{what} is not a number: {text!r}")
    value = float(match.group(0))
    if not math.isfinite(value):
        raise RecordError(path, f"{what} is not finite: {text!r}")
    if kind is int:
        if value != int(value):
            raise RecordError(path, f"{what} is not an integer: {text!r}")
        return int(value)
    return value


def _parse_signal(path: Path, line: str, index: int) -> SignalSpec:
    tokens = line.split()
    if len(tokens) < 2:
        raise RecordError(path, f"signal line {index + 1} is incomplete: {line!r}")
    fmt_match = _FORMAT.match(tokens[1])
    if not fmt_match:
        raise RecordError(path, f"signal line {index + 1} has an unreadable format {tokens[1]!r}")
    fmt = int(fmt_match.group("fmt"))
    if fmt != 16:
        raise RecordError(path, f"signal line {index + 1}: storage format {fmt} is not supported (16 only)")
    if fmt_match.group("spf") not in (None, "1"):
        raise RecordError(path, f"signal line {index + 1}: multi-frequency records are not supported")
    gain_text = tokens[2] if len(tokens) > 2 else ""
    gain_match = _GAIN.match(gain_text)
    if not gain_match:
        raise RecordError(path, f"signal line {index + 1} has a non-numeric gain {gain_text!r}")
    gain = float(gain_match.group("gain")) if gain_match.group("gain") else 0.0
    if not math.isfinite(gain) or gain < 0:
        raise RecordError(path, f"signal line {index + 1} has an invalid gain {gain_text!r}")
    gain = gain or 200.0  # WFDB: a gain of 0 or none means the default 200 adu/unit
    units = gain_match.group("units") or "mV"
    if units.lower() not in UNIT_SCALE_TO_MV:
        raise RecordError(path, f"signal line {index + 1}: unknown units {units!r}")

    def field_int(pos: int, what: str, default: int | None) -> int | None:
        if len(tokens) <= pos:
            return default
        return int(_number(path, tokens[pos], f"signal line {index + 1} {what}", int))

    adc_resolution = field_int(3, "ADC resolution", 16)
    adc_zero = field_int(4, "ADC zero", 0)
    baseline_text = gain_match.group("baseline")
    baseline = int(baseline_text) if baseline_text is not None else adc_zero
    return SignalSpec(
        file_name=tokens[0],
        fmt=fmt,
        byte_offset=int(fmt_match.group("offset") or 0),
        gain=gain,
        baseline=baseline,
        units=units,
        adc_resolution=adc_resolution,
        adc_zero=adc_zero,
        initial_value=field_int(5, "initial value", None),
        checksum=field_int(6, "checksum", None),
        lead_name=" ".join(tokens[8:]) if len(tokens) > 8 else f"lead{index + 1}",
    )


def parse_header(text: str, path: str | Path = "<header>") -> Header:
    """Parse the text of a ``.hea`` file; ``path`` is only used in error messages."""
    path = Path(path)
    lines = [ln.strip() for ln in text.replace("\r", "\n").split("\n")]
    body = [ln for ln in lines if ln and not ln.startswith("#")]
    if not body:
        raise RecordError(path, "header has no record line")
    record_tokens = body[0].split()
    if len(record_tokens) < 4:
        raise RecordError(path, f"record line needs name, signals, rate and samples: {body[0]!r}")
    # Some Georgia headers name the file on the record line ("E00009.mat 12 500 5000").
    record_name = re.sub(r"\.(mat|hea|dat)$", "", record_tokens[0].split("/")[0])
    n_signals = int(_number(path, record_tokens[1], "number of signals", int))
    fs = float(_number(path, record_tokens[2], "sampling frequency"))
    n_samples = int(_number(path, record_tokens[3], "number of samples", int))
    if n_signals <= 0:
        raise RecordError(path, f"record declares {n_signals} signals")
    if fs <= 0:
        raise RecordError(path, f"sampling frequency must be positive, got {record_tokens[2]!r}")
    if n_samples <= 0:
        raise RecordError(path, f"record declares {n_samples} samples (zero-length signal)")
    signal_lines = body[1:]
    if len(signal_lines) != n_signals:
        raise RecordError(
            path, f"record line declares {n_signals} signals but {len(signal_lines)} signal lines follow"
        )
    signals = tuple(_parse_signal(path, ln, i) for i, ln in enumerate(signal_lines))
    return Header(path, record_name, n_signals, fs, n_samples, signals, _comments(lines))


def _comments(lines: list[str]) -> dict[str, str]:
    """``# Key: value`` lines, keys lower-cased; the first of a repeated key wins."""
    comments: dict[str, str] = {}
    for ln in lines:
        match = _COMMENT.match(ln)
        if match:
            comments.setdefault(match.group("key").strip().lower(), match.group("value"))
    return comments


def _codes(raw: str) -> tuple[str, ...]:
    # Comma-separated and stripped, exactly as the official scorer splits the Dx line.
    return tuple(c for c in (f.strip() for f in raw.split(",")) if c and c.lower() not in _MISSING)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise RecordError(path, "header file is missing") from None
    except OSError as exc:
        raise RecordError(path, f"header cannot be read ({exc.strerror})") from None


def read_labels(path: str | Path) -> tuple[str, ...]:
    """Only the ``Dx`` codes of a header, as the official scorer reads them: the record and
    signal lines are not parsed, so a header broken there still yields its labels."""
    lines = [ln.strip() for ln in _read_text(Path(path)).replace("\r", "\n").split("\n")]
    return _codes(_comments(lines).get("dx", ""))


def read_header(path: str | Path) -> Header:
    """Read and parse a ``.hea`` file."""
    return parse_header(_read_text(Path(path)), path)
