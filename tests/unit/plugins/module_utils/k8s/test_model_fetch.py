"""Models arrive once: plugins/module_utils/k8s/model_fetch.py run as the vllm init container runs it.

The package the role mounts from its ConfigMap (the files roles/vllm/vars/main.yml lists, at their module_utils paths
under ``llmops``) is copied into a temporary folder and run with ``python3 -m llmops.k8s.model_fetch`` against a
loopback HTTP server
serving a model archive: the sha256 is checked, two pods sharing one cache download it once, a wrong digest or an
archive whose member escapes the cache is refused with nothing left behind.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import yaml
from local_http import serving

REPO = Path(__file__).resolve().parents[5]
MODULE_UTILS = REPO / "plugins" / "module_utils"
# What roles/vllm/templates/model-fetch-configmap.yaml.j2 mounts, at the same paths.
PACKAGE_FILES = yaml.safe_load((REPO / "roles" / "vllm" / "vars" / "main.yml").read_text())["__vllm_model_fetch_files"]


def _archive(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


MODEL = _archive({"config.json": b'{"architectures": ["LlamaForCausalLM"]}',
                  "model.safetensors": os.urandom(256 * 1024)})
DIGEST = hashlib.sha256(MODEL).hexdigest()


class _Objects(BaseHTTPRequestHandler):
    """A stand-in for an Object Storage pre-authenticated request: GET /p/<token>/o/<name> returns the bytes."""

    objects: dict[str, bytes] = {}
    gets: list[str] = []
    lock = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            self.gets.append(self.path)
        body = self.objects.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def package(tmp_path: Path) -> Path:
    root = tmp_path / "opt"
    (root / "llmops").mkdir(parents=True)
    (root / "llmops" / "__init__.py").write_text("")
    for name in PACKAGE_FILES:
        (root / "llmops" / name).parent.mkdir(exist_ok=True)
        shutil.copy(MODULE_UTILS / name, root / "llmops" / name)
    return root


@pytest.fixture
def objects():
    _Objects.objects = {"/p/secret-token/o/model.tar.gz": MODEL,
                        "/p/secret-token/o/evil.tar.gz": _archive({"../outside.txt": b"x"})}
    _Objects.gets = []
    with serving(_Objects) as url:
        yield url, _Objects.gets


def _fetch(package: Path, url: str, sha256: str, cache: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(package), "LLMOPS_MODEL_URL": url}
    command = [sys.executable, "-m", "llmops.k8s.model_fetch", "--sha256", sha256, "--cache-dir", str(cache)]
    return subprocess.Popen(command,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_pods_sharing_a_cache_download_the_model_once(package: Path, objects, tmp_path: Path) -> None:
    base, gets = objects
    cache = tmp_path / "cache"
    first, second = (_fetch(package, f"{base}/p/secret-token/o/model.tar.gz", DIGEST, cache) for _pod in range(2))
    results = []
    for process in (first, second):
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        results.append(json.loads(out))
    assert sorted(result["downloaded"] for result in results) == [False, True]
    assert gets == ["/p/secret-token/o/model.tar.gz"]
    model = Path(results[0]["path"])
    assert model == cache / "models" / DIGEST
    assert (model / "config.json").read_text().startswith('{"architectures"')
    assert (model / ".complete").exists() and not list((cache / "downloads").iterdir())
    # A third start (a pod rescheduled onto the same cache) downloads nothing either.
    third = _fetch(package, f"{base}/p/secret-token/o/model.tar.gz", DIGEST, cache)
    out, _err = third.communicate(timeout=60)
    assert json.loads(out)["downloaded"] is False and len(gets) == 1


def test_a_wrong_digest_is_refused_and_leaves_nothing(package: Path, objects, tmp_path: Path) -> None:
    base, _gets = objects
    cache = tmp_path / "cache"
    wrong = "0" * 64
    process = _fetch(package, f"{base}/p/secret-token/o/model.tar.gz", wrong, cache)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert f"does not match the expected {wrong}" in err and DIGEST in err
    # The pre-authenticated URL is a credential: it is not logged.
    assert "secret-token" not in err
    assert not (cache / "models" / wrong).exists() and not list((cache / "downloads").iterdir())


def test_an_archive_escaping_the_cache_is_refused(package: Path, objects, tmp_path: Path) -> None:
    base, _gets = objects
    evil = _Objects.objects["/p/secret-token/o/evil.tar.gz"]
    cache = tmp_path / "cache"
    process = _fetch(package, f"{base}/p/secret-token/o/evil.tar.gz", hashlib.sha256(evil).hexdigest(), cache)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 1 and "escapes the extraction directory" in err
    assert not (tmp_path / "outside.txt").exists() and not (cache / "outside.txt").exists()
    assert [p.name for p in (cache / "models").iterdir()] == []


def test_a_missing_object_fails_without_naming_the_url(package: Path, objects, tmp_path: Path) -> None:
    base, _gets = objects
    process = _fetch(package, f"{base}/p/secret-token/o/absent.tar.gz", DIGEST, tmp_path / "cache")
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 1 and "404" in err and "secret-token" not in err
