# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The generic file and HTTP helpers of the collection, stdlib only, so the engine runs alone in the Job.

The benchmark Job mounts ``bench/`` and nothing else; the local path (``local/``) and the model-fetch init
container (``k8s/model_fetch``) import these from here.

* ``atomic_write_*``: readers see the old file or the whole new one, never a torn one (fsync, then
  ``os.replace``; the temporary file is removed on any failure).
* ``write_if_changed``: the same, skipped when the file already holds the text.
* ``cache_root``: the collection's cache folder (an explicit path, else ``$LLMOPS_CACHE``, else
  ``~/.cache/llmops-oke``; ``~`` expanded in every case).
* ``http_get``, ``file_sha256``, ``fetch_verified``: a plain GET, a file's digest, a download checked
  against its sha256.
* ``safe_extract``: unpack a ``.tar.gz`` only when no member or link escapes the target folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

# No proxy handler surprises: a plain opener, shared.
_OPENER = urllib.request.build_opener()


class DownloadError(Exception):
    """A download did not have the expected digest."""


class ArchiveError(Exception):
    """An archive has a member or a link that would land outside the folder it is unpacked into."""


def atomic_write_bytes(path: str | os.PathLike, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` so readers see the old file or the whole new one, never a torn one.

    The file is private (0600, as ``mkstemp`` makes it) unless ``mode`` says otherwise.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str, mode: int | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def atomic_write_json(path: str | os.PathLike, data: Any, mode: int | None = None) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n", mode)


def read_text_or_empty(path: str | os.PathLike) -> str:
    """The file's text, or "" when there is no file."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def write_if_changed(path: str | os.PathLike, text: str, check_mode: bool = False,
                     mode: int = 0o644) -> tuple[bool, str]:
    """Write ``text`` atomically (mode 0644) unless the file already holds it.

    Returns (changed, the previous text or ""); in check mode nothing is written.
    """
    before = read_text_or_empty(path)
    if Path(path).is_file() and before == text:
        return False, before
    if not check_mode:
        atomic_write_text(path, text, mode)
    return True, before


def cache_root(override: str | None = None) -> str:
    """The cache root: an explicit path, else $LLMOPS_CACHE, else ~/.cache/llmops-oke (absolute, ``~`` expanded)."""
    root = override or os.environ.get("LLMOPS_CACHE") or os.path.join("~", ".cache", "llmops-oke")
    if root == "~" or root.startswith("~/"):
        root = str(Path.home()) + root[1:]
    return os.path.abspath(root)


def http_get(url: str, timeout: float, headers: dict[str, str] | None = None) -> Any:
    """GET ``url`` (the response, a context manager; urllib's errors propagate)."""
    return _OPENER.open(urllib.request.Request(url, headers=headers or {}), timeout=timeout)


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_verified(url: str, sha256: str, dest: str, timeout: float = 300) -> bool:
    """Download url to dest (atomically) unless dest already has the expected digest; True when downloaded.

    Raises DownloadError when the download's digest differs; urllib's and the OS's errors propagate.
    """
    if os.path.exists(dest) and file_sha256(dest) == sha256:
        return False
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".partial-")
    try:
        with os.fdopen(fd, "wb") as out, _OPENER.open(url, timeout=timeout) as response:
            shutil.copyfileobj(response, out, 1 << 20)
        actual = file_sha256(partial)
        if actual != sha256:
            raise DownloadError(f"{url}: sha256 {actual} does not match the expected {sha256}")
        os.replace(partial, dest)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return True


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Unpack a ``.tar.gz`` into dest; raises ArchiveError, before writing anything, when a member or a link
    would land outside dest."""
    with tarfile.open(archive, "r:gz") as tar:
        base = os.path.realpath(dest)
        for member in tar.getmembers():
            target = os.path.realpath(os.path.join(dest, member.name))
            if not target.startswith(base + os.sep) and target != base:
                raise ArchiveError(f"{archive}: member {member.name} escapes the extraction directory")
            if member.issym() or member.islnk():
                link = os.path.realpath(os.path.join(os.path.dirname(target), member.linkname))
                if not link.startswith(base + os.sep):
                    raise ArchiveError(f"{archive}: link {member.name} points outside the extraction directory")
        tar.extractall(dest)
