"""The real-data path, offline: download (resume, verification, safe extraction), source
directories and leave-one-source-out."""

from __future__ import annotations

import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest

from ecgtricks.data.archives import STAMP, Source, download, fetch_split, md5sum
from ecgtricks.data.sources import SPLIT_FILE
from ecgtricks.utils.errors import ECGTricksError


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """A static server that honours ``Range: bytes=N-`` (http.server's own does not)."""

    ranges: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        if "Range" in self.headers:
            self.ranges.append(self.headers["Range"])
            start = int(re.match(r"bytes=(\d+)-", self.headers["Range"]).group(1))
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def mirror(tmp_path: Path, samples_dir: Path):
    """Two archives shaped like the challenge's (a top folder of .hea/.mat), served over HTTP."""
    served = tmp_path / "served"
    served.mkdir()
    table = {}
    for key, prefix in (("cpsc", "A"), ("ptb", "S")):
        names = sorted(samples_dir.glob(f"{prefix}*.hea"))[:5]
        archive = served / f"Test_{key}.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for hea in names:
                for ext in (".hea", ".mat"):
                    tar.add(hea.with_suffix(ext), arcname=f"Training_{key}/{hea.stem}{ext}")
        table[key] = Source(key, archive.name, len(names), md5sum(archive))
    handler = lambda *a, **k: RangeHandler(*a, directory=str(served), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    RangeHandler.ranges = []
    yield f"http://127.0.0.1:{server.server_address[1]}/", table, served
    server.shutdown()


def test_download_resumes_verifies_extracts_and_skips(tmp_path: Path, mirror) -> None:
    url, table, served = mirror
    dest = tmp_path / "data"
    (dest / "archives").mkdir(parents=True)
    whole = (served / table["cpsc"].archive).read_bytes()
    (dest / "archives" / (table["cpsc"].archive + ".part")).write_bytes(whole[:1000])  # an interrupted try
    dirs = download(dest, ["cpsc", "ptb"], url, table=table, progress=False)
    assert RangeHandler.ranges == ["bytes=1000-"]  # continued, not restarted
    assert [d.name for d in dirs] == ["cpsc", "ptb"]
    for d in dirs:
        assert len(list(d.rglob("*.hea"))) == 5 and json.loads((d / STAMP).read_text())["records"] == 5
    assert (dest / "archives" / table["cpsc"].archive).read_bytes() == whole
    (served / table["cpsc"].archive).unlink()  # a second run needs nothing from the server
    download(dest, ["cpsc"], url, table=table, progress=False)


def test_download_refuses_bad_checksums_counts_and_paths(tmp_path: Path, mirror) -> None:
    url, table, served = mirror
    bad = {"cpsc": Source("cpsc", table["cpsc"].archive, 5, "0" * 32)}
    with pytest.raises(ECGTricksError, match="MD5"):
        download(tmp_path / "a", ["cpsc"], url, table=bad, progress=False)
    assert (tmp_path / "a" / "archives" / (table["cpsc"].archive + ".bad")).is_file()
    wrong_count = {"ptb": Source("ptb", table["ptb"].archive, 516)}
    with pytest.raises(ECGTricksError, match="5 records extracted .* 516 expected"):
        download(tmp_path / "b", ["ptb"], url, table=wrong_count, progress=False)
    evil = served / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../../escaped.hea")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(ECGTricksError, match="cannot be extracted"):
        download(tmp_path / "c", ["evil"], url, table={"evil": Source("evil", "evil.tar.gz", 1)}, progress=False)
    assert not list(tmp_path.rglob("escaped.hea"))
    with pytest.raises(ECGTricksError, match="unknown source"):
        download(tmp_path / "d", ["mitbih"], url, table=table, progress=False)


def test_the_papers_split_is_fetched_and_checked(mirror, tmp_path: Path, paper_split: Path) -> None:
    url, _, served = mirror
    shutil.copyfile(paper_split, served / "split.json")
    (served / "tampered.json").write_bytes(paper_split.read_bytes().replace(b"A0001", b"A0002", 1))
    dest = tmp_path / "data"
    assert fetch_split(dest, url + "split.json") == dest / SPLIT_FILE
    assert (dest / SPLIT_FILE).read_bytes() == paper_split.read_bytes()
    assert fetch_split(dest, url + "missing.json") == dest / SPLIT_FILE  # verified copy kept, no fetch
    with pytest.raises(ECGTricksError, match="sha256 .* is not the pinned"):
        fetch_split(tmp_path / "other", url + "tampered.json")
    assert (tmp_path / "other" / (SPLIT_FILE + ".bad")).is_file() and not (tmp_path / "other" / SPLIT_FILE).exists()


def test_no_network_is_one_clear_line(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "ecgtricks.download", str(tmp_path), "--sources", "incart",
                           "--url-base", "http://127.0.0.1:9/", "--no-progress"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("error: cannot reach") and "no network?" in line and "Traceback" not in proc.stderr


def test_edition_2021_fetches_its_archives_by_template_into_the_same_layout(
        tmp_path: Path, mirror, samples_dir: Path) -> None:
    url, _, served = mirror
    from ecgtricks.data.archives import archive_url
    from ecgtricks.data.sources import SOURCES_2021

    assert archive_url("http://m/{archive}/", "WFDB_Ga.tar.gz") == "http://m/WFDB_Ga.tar.gz/"
    assert archive_url("http://m/a", "WFDB_Ga.tar.gz") == "http://m/a/WFDB_Ga.tar.gz"
    assert sum(s.records for s in SOURCES_2021.values()) == 88253 and len(SOURCES_2021) == 8
    assert SOURCES_2021["ningbo"].names()[::34904] == ["JS10647", "JS45551"]
    names = sorted(samples_dir.glob("JS*.hea"))[:5]
    archive = served / SOURCES_2021["chapman_shaoxing"].archive
    with tarfile.open(archive, "w:gz") as tar:
        for hea in names:
            for ext in (".hea", ".mat"):
                tar.add(hea.with_suffix(ext), arcname=f"WFDB_ChapmanShaoxing/{hea.stem}{ext}")
    # the real table: the archive is fetched through the template and checked against 10,247
    proc = subprocess.run([sys.executable, "-m", "ecgtricks.download", str(tmp_path / "d"), "--edition", "2021",
                           "--sources", "chapman_shaoxing", "--url-base", url + "{archive}/", "--no-progress"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "5 records extracted" in proc.stderr and "10247 expected" in proc.stderr
    assert (tmp_path / "d" / "archives" / archive.name).read_bytes() == archive.read_bytes()
    # with the archive's own count, it lands where the twin writes it: DEST/chapman_shaoxing/
    table = {"chapman_shaoxing": Source("chapman_shaoxing", archive.name, 5)}
    (d,) = download(tmp_path / "e", ["chapman_shaoxing"], url + "{archive}", table=table, progress=False)
    assert d == tmp_path / "e" / "chapman_shaoxing" and len(list(d.rglob("JS*.hea"))) == 5
    proc = subprocess.run([sys.executable, "-m", "ecgtricks.download", str(tmp_path / "f"), "--sources", "ningbo",
                           "--url-base", url], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "unknown source(s) ['ningbo']" in proc.stderr


def _train(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_source_tree_and_leave_one_source_out(tmp_path: Path, samples_dir: Path) -> None:
    tree = tmp_path / "challenge2020"
    for key, prefix in (("cpsc", "A"), ("georgia", "E"), ("ptbxl", "HR")):
        (tree / key).mkdir(parents=True)
        for hea in sorted(samples_dir.glob(f"{prefix}*.hea")):
            for ext in (".hea", ".mat"):
                shutil.copy(hea.with_suffix(ext), tree / key / f"{hea.stem}{ext}")
    args = ["ecgtricks.train", "debug=smoke", "data=challenge2020", f"data.path={tree}", "data.sources=[cpsc,georgia,ptbxl]",
            "split=leave_one_source_out", "logger=csv", f"output_root={tmp_path / 'out'}"]
    proc = _train([*args, "fold=1"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(next((tmp_path / "out").rglob("summary.json")).read_text())
    assert summary["split"] == "leave_one_source_out" and summary["held_out_source"] == "Georgia"
    n_georgia = len(list((tree / "georgia").glob("*.hea")))
    assert summary["n_val"] == n_georgia
    proc = _train([*args, "fold=3"], tmp_path)
    assert proc.returncode == 2 and "outside 0..2" in proc.stderr and "['CPSC', 'Georgia', 'PTB-XL']" in proc.stderr
    proc = _train([*args[:-4], "data.sources=[cpsc,incart]", f"output_root={tmp_path / 'o2'}"], tmp_path)
    assert proc.returncode == 2 and "no directory ['incart']" in proc.stderr


