# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Models arrive once: download a model archive, verify its sha256, unpack it into a shared cache.

Plain Python, stdlib only (no Ansible imports): the vllm role runs it in the pod's init container (this file and
``bench/fileio.py`` mounted from a ConfigMap at their paths in the collection, under the package ``llmops``, run as
``python3 -m llmops.k8s.model_fetch``), and the tests run it on this machine against a loopback HTTP server.

The archive (a ``.tar.gz`` of the model folder, e.g. an OCI Object Storage pre-authenticated request URL) is
fetched by ``bench.fileio.fetch_verified`` (atomic download, sha256 checked) and unpacked by its
``safe_extract`` (no member or link escapes) into ``<cache>/models/<sha256>``, renamed into place whole, with a
``.complete`` marker. An exclusive lock on ``<cache>/.lock`` serialises pods sharing one cache (a File Storage
PVC): the second one finds the marker and downloads nothing. The archive is removed once unpacked.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shutil
import sys
import tempfile
from typing import Any

from ..bench.fileio import ArchiveError, DownloadError, fetch_verified, safe_extract

SHA256 = re.compile(r"^[0-9a-f]{64}$")
MARKER = ".complete"


class ModelFetchError(Exception):
    """The model could not be fetched, verified or unpacked."""


def model_dir(cache_dir: str, sha256: str) -> str:
    """Where the archive with this digest is unpacked."""
    return os.path.join(cache_dir, "models", sha256)


def ensure_model(url: str, sha256: str, cache_dir: str, timeout: float = 3600) -> dict[str, Any]:
    """Make ``<cache>/models/<sha256>`` hold the unpacked archive; returns path and whether it was downloaded."""
    if not SHA256.match(sha256 or ""):
        raise ModelFetchError(f"sha256 {sha256!r} is not 64 lowercase hex digits")
    if not re.match(r"^https?://", url or ""):
        raise ModelFetchError("the model URL is not http(s)")
    target = model_dir(cache_dir, sha256)
    os.makedirs(os.path.join(cache_dir, "models"), exist_ok=True)
    with open(os.path.join(cache_dir, ".lock"), "a+", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(target, MARKER)):
            return {"path": target, "downloaded": False}
        archive = os.path.join(cache_dir, "downloads", f"{sha256}.tar.gz")
        try:
            fetch_verified(url, sha256, archive, timeout)
            staging = tempfile.mkdtemp(dir=os.path.join(cache_dir, "models"), prefix=".unpack-")
            try:
                safe_extract(archive, staging)
                with open(os.path.join(staging, MARKER), "w", encoding="utf-8") as marker:
                    json.dump({"sha256": sha256}, marker)
                if os.path.exists(target):  # a half-written folder of an interrupted run (no marker)
                    shutil.rmtree(target)
                os.replace(staging, target)
            finally:
                if os.path.exists(staging):
                    shutil.rmtree(staging)
        except (DownloadError, ArchiveError) as error:
            # fetch_verified's words name the digest mismatch; the URL (a pre-authenticated request is a
            # credential) is left out of what the pod logs.
            raise ModelFetchError(str(error).replace(url, "<model URL>")) from error
        except (OSError, ValueError) as error:
            raise ModelFetchError(f"cannot fetch or unpack the model archive: {error}".replace(url, "<model URL>")) \
                from error
        finally:
            if os.path.exists(archive):
                os.unlink(archive)
    return {"path": target, "downloaded": True}


def main(argv: list[str] | None = None) -> int:
    """Init-container entry point: the URL comes from the environment (a Secret), never the command line."""
    parser = argparse.ArgumentParser(prog="python3 -m llmops.model_fetch")
    parser.add_argument("--sha256", required=True)
    parser.add_argument("--cache-dir", required=True)
    parser.add_argument("--url-env", default="LLMOPS_MODEL_URL", help="environment variable holding the URL")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args(argv)
    try:
        result = ensure_model(os.environ.get(args.url_env, ""), args.sha256, args.cache_dir, args.timeout)
    except ModelFetchError as error:
        sys.stderr.write(f"model_fetch: {error}\n")
        return 1
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
