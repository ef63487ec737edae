from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import wfdb

from ecgtricks.data import RecordError, find_records, parse_header, read_record


def test_all_shared_records_read_with_exact_physical_values(samples_dir: Path) -> None:
    paths = find_records(samples_dir)
    assert len(paths) == 120
    compared = 0
    for path in paths:
        record = read_record(path)
        assert record.signal.dtype == np.float32 and record.signal.shape[0] == 12
        assert record.lead_names[:2] == ("I", "II")
        digital = scipy.io.loadmat(str(path) + ".mat")["val"]
        header = wfdb.rdheader(str(path))
        expected = ((digital - np.asarray(header.baseline)[:, None]) / np.asarray(header.adc_gain)[:, None])
        np.testing.assert_array_equal(record.signal, expected.astype(np.float32))
        # wfdb reads the standard dialects; where it does, its physical values are ours exactly.
        reference = wfdb.rdrecord(str(path)).p_signal.T.astype(np.float32)
        np.testing.assert_array_equal(record.signal, reference)
        compared += 1
    assert compared == 120


def test_metadata_and_sources(samples_dir: Path) -> None:
    records = {p.name: read_record(p) for p in find_records(samples_dir)}
    a = records["A0001"]
    assert (a.fs, a.age, a.sex, a.labels, a.source) == (500.0, 74.0, "Male", ("59118001",), "CPSC")
    e = records["E07500"]  # "# Dx:" with a space, gains "1000.0(0)/mV", format "16x1+24"
    assert e.labels == ("67741000119109", "426177001") and e.source == "Georgia" and e.age == 78.0
    assert records["S0001"].fs == 1000.0 and records["S0001"].source == "PTB"
    sources = {r.source for r in records.values()}
    assert sources == {"CPSC", "CPSC-Extra", "PTB", "PTB-XL", "Georgia", "Chapman-Ningbo"}
    assert any(r.age is None for r in records.values())  # "#Age: NaN" becomes None


HEADER = """{name} 2 500 4
{name}.mat 16+24 1000/mV 16 0 1 2 0 I
{name}.mat 16+24 1000/mV 16 0 3 4 0 II
#Age: NaN
# Dx: 164889003, 426783006
#Sex: F
"""


def test_liberal_header_dialects() -> None:
    header = parse_header("E00009.mat 12 500 5000\n" + "\n".join(
        f"E00009.mat 16x1+24 1000.0(5)/mv 16 0 0 0 0 L{i}" for i in range(12)) + "\n#Dx: 1,2\n")
    assert header.record_name == "E00009" and header.n_samples == 5000
    assert header.signals[0].baseline == 5 and header.signals[0].gain == 1000.0
    assert header.labels == ("1", "2")
    h2 = parse_header(HEADER.format(name="X1"))
    assert h2.age is None and h2.sex == "Female" and h2.labels == ("164889003", "426783006")


def _write(tmp: Path, name: str, header: str, val: np.ndarray | None) -> Path:
    (tmp / f"{name}.hea").write_text(header.format(name=name))
    if val is not None:
        scipy.io.savemat(tmp / f"{name}.mat", {"val": val}, format="4")
    return tmp / name


@pytest.mark.parametrize(
    ("header", "val", "message"),
    [
        (HEADER, np.zeros((2, 4), np.int16), None),
        (HEADER, None, "signal file is missing"),
        (HEADER, np.zeros((3, 4), np.int16), "holds 3 leads but the header declares 2"),
        (HEADER.replace(" 2 500 4", " 2 5x0 4"), np.zeros((2, 4), np.int16), "not a number"),
        (HEADER.replace("1000/mV", "abc/mV"), np.zeros((2, 4), np.int16), "non-numeric gain"),
        (HEADER.replace(" 2 500 4", " 2 500 0"), np.zeros((2, 0), np.int16), "zero-length"),
        (HEADER.replace(" 2 500 4", " 3 500 4"), np.zeros((2, 4), np.int16), "declares 3 signals"),
        ("garbage\n", None, "record line"),
        (HEADER, np.full((2, 4), np.nan), "NaN"),
    ],
)
def test_bad_records_raise_one_line_errors(tmp_path: Path, header: str, val, message) -> None:
    path = _write(tmp_path, "B0001", header, val)
    if message is None:
        assert read_record(path).signal.shape == (2, 4)
        return
    with pytest.raises(RecordError) as info:
        read_record(path)
    text = str(info.value)
    assert message in text and "B0001" in text and "\n" not in text


def test_truncated_mat_is_reported(tmp_path: Path, samples_dir: Path) -> None:
    for ext in (".hea", ".mat"):
        shutil.copy(samples_dir / f"A0001{ext}", tmp_path / f"A0001{ext}")
    mat = tmp_path / "A0001.mat"
    mat.write_bytes(mat.read_bytes()[:1000])
    with pytest.raises(RecordError, match=r"A0001\.mat: signal file is truncated"):
        read_record(tmp_path / "A0001")
