"""Fetching the challenge archives and the paper's split: resumable downloads, checks, safe extraction.

Each archive is downloaded into ``DEST/archives/`` (resumable: an interrupted ``.part`` file is
continued with an HTTP Range request), verified (its size against the server's, its MD5 where the
challenge's is known, and the record count after extraction), then extracted safely (no paths
outside the target) into ``DEST/<source>/`` through a temporary directory renamed into place.
A source already extracted and verified is skipped.
"""


from __future__ import annotations

import hashlib
import logging
import shutil
import tarfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from ecgtricks.data.sources import (
    SOURCES,
    SPLIT_FILE,
    SPLIT_SHA256,
    SPLIT_URL,
    Source,
)
from ecgtricks.utils.errors import ECGTricksError
from ecgtricks.utils.files import atomic_write_json, built_once, sha256sum

log = logging.getLogger("ecgtricks.data.archives")

URL_BASE = "https://storage.googleapis.com/physionet-challenge-2020-12-lead-ecg-public/"
# The 2021 archives (WFDB_*.tar.gz) as the 2021 challenge's download page served them; PhysioNet's
# challenge-2021 v1.0.3 project holds the same records as loose files. Any mirror of the archive
# names works: pass its base, or a template with {archive} where the name goes.
URL_BASE_2021 = "https://pipelineapi.org:9555/api/download/physionettraining/{archive}/"
URL_BASES = {2020: URL_BASE, 2021: URL_BASE_2021}


def archive_url(url_base: str, archive: str) -> str:
    """Where ``archive`` lies: ``url_base`` with ``{archive}`` filled in, or ``url_base/archive``."""
    if "{archive}" in url_base:
        return url_base.format(archive=archive)
    return url_base.rstrip("/") + "/" + archive


STAMP = ".verified.json"


def fetch(url: str, target: Path, *, progress: bool = True, chunk: int = 1 << 20) -> Path:
    """Download ``url`` to ``target``, continuing ``target.part`` if a previous try left one."""
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to fetch: the part file is whole
            part.replace(target)
            return target
        raise ECGTricksError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ECGTricksError(
            f"cannot reach {url} ({reason}): no network? Put the archive at {target} by hand and run again"
        ) from None
    with response:
        resumed = response.status == 206
        if have and not resumed:
            log.info("%s: server ignored the range request; starting over", url)
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        with open(part, "ab" if resumed else "wb") as out, tqdm(
            total=total, initial=have, unit="B", unit_scale=True, desc=target.name, disable=not progress
        ) as bar:
            while block := response.read(chunk):
                out.write(block)
                bar.update(len(block))
    size = part.stat().st_size
    if total is not None and size != total:
        raise ECGTricksError(f"{url}: got {size} bytes of {total}; run again to continue")
    part.replace(target)
    return target


def fetch_split(dest: Path, url: str = SPLIT_URL, *, progress: bool = False) -> Path:
    """The paper's split file as ``dest/dsail2020_split.json``, checked against its sha256."""
    target = dest / SPLIT_FILE
    if target.is_file() and sha256sum(target) == SPLIT_SHA256:
        return target
    dest.mkdir(parents=True, exist_ok=True)
    download_to = target.with_name(target.name + ".new")
    fetch(url, download_to, progress=progress)
    digest = sha256sum(download_to)
    if digest != SPLIT_SHA256:
        download_to.replace(target.with_name(target.name + ".bad"))
        raise ECGTricksError(f"{url}: sha256 {digest} is not the pinned {SPLIT_SHA256}; set aside as .bad")
    download_to.replace(target)
    log.info("the paper's split: %s", target)
    return target


def md5sum(path: Path) -> str:
    digest = hashlib.md5()  # noqa: S324 (the challenge published MD5s; not a security check)
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def safe_extract(archive: Path, target: Path) -> None:
    """Extract ``archive`` into ``target``: members that would land outside it, links and device
    files are refused (tarfile's 'data' filter), and a failed extraction leaves nothing behind."""
    if not hasattr(tarfile, "data_filter"):
        raise ECGTricksError("safe extraction needs Python >= 3.10.12 or >= 3.11.4 (tarfile filters)")
    shutil.rmtree(target, ignore_errors=True)  # an unverified earlier extraction
    with built_once(target) as tmp:
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise ECGTricksError(f"{archive}: cannot be extracted ({exc})") from None


def fetch_source(source: Source, dest: Path, url_base: str = URL_BASE, *, progress: bool = True) -> Path:
    """Download, verify and extract one source into ``dest/<key>``; skipped when already done."""
    target = dest / source.key
    if (target / STAMP).is_file():
        log.info("%s: already downloaded and verified", source.key)
        return target
    archives = dest / "archives"
    archives.mkdir(parents=True, exist_ok=True)
    archive = archives / source.archive
    if not archive.is_file():
        fetch(archive_url(url_base, source.archive), archive, progress=progress)
    if source.md5:
        digest = md5sum(archive)
        if digest != source.md5:
            archive.rename(archive.with_name(archive.name + ".bad"))
            raise ECGTricksError(f"{archive}: MD5 {digest} is not the published {source.md5}; set aside as .bad")
    safe_extract(archive, target)
    found = sum(1 for _ in target.rglob("*.hea"))
    if found != source.records:
        raise ECGTricksError(f"{source.key}: {found} records extracted from {archive}, {source.records} expected")
    atomic_write_json(target / STAMP, {"archive": source.archive, "records": found, "md5": md5sum(archive)})
    log.info("%s: %d records in %s", source.key, found, target)
    return target


def download(dest: Path, keys: Sequence[str], url_base: str = URL_BASE, *, table: dict[str, Source] | None = None,
             progress: bool = True) -> list[Path]:
    table = table or SOURCES
    unknown = [k for k in keys if k not in table]
    if unknown:
        raise ECGTricksError(f"unknown source(s) {unknown}; choose from {sorted(table)}")
    return [fetch_source(table[k], dest, url_base, progress=progress) for k in keys]
