"""Every benchmark-role file that names an engine option, beside test_options_drift.py (which checks the module call).

The role passes its variables to the module once (tasks/controller.yml, where "0 or '' means unset" becomes
``omit`` and the comma-separated levels become lists); the Kubernetes runner and both Job scripts take the run id,
the levels, the token lengths (presets and engine defaults applied) and the builtin engine's flags from the
module's plan (``validate_only``), never from a copy. A file that starts naming an option fails here until it is
listed with why it may.
"""

from __future__ import annotations

import re
from pathlib import Path

from ansible_collections.llmops.oke.plugins.module_utils.bench.options import OPTIONS
from ansible_collections.llmops.oke.plugins.module_utils.bench.prompts import PRESETS

ROLE = Path(__file__).resolve().parents[5] / "roles" / "benchmark"
# the module call: every option goes through it (test_options_drift.py checks it)
THE_MODULE_CALL = "tasks/controller.yml"
# file -> the options it names, each passed verbatim (no default, preset or unset rule of its own)
NAMED_ELSEWHERE = {
    # asserts of what the Job can run (LLMPerf: closed loop; the key from a Secret), the LLMPerf base URL,
    # and the run id handed to the import
    "tasks/kubernetes.yml": {"api_key", "base_url", "mode", "run_id"},
    # the format check of the comma-separated lists, the results folder resolved beside the playbooks
    "tasks/preflight.yml": {"concurrency", "rates_rps", "results_dir"},
    # LLMPerf's own flags (not the engine's): the model name and its request count, as given
    "templates/job-llmperf.sh.j2": {"max_requests", "model"},
}
OPTION_NAMES = {option.name for option in OPTIONS}


def _files() -> dict[str, str]:
    return {str(path.relative_to(ROLE)): path.read_text(encoding="utf-8")
            for folder in ("tasks", "templates") for path in sorted((ROLE / folder).iterdir())}


def test_only_the_module_call_and_the_listed_files_name_an_option() -> None:
    named = {}
    for name, text in _files().items():
        options = {m for m in re.findall(r"\bbenchmark_(\w+)", text) if m in OPTION_NAMES}
        if name != THE_MODULE_CALL and options - NAMED_ELSEWHERE.get(name, set()):
            named[name] = sorted(options - NAMED_ELSEWHERE.get(name, set()))
    assert not named


def test_presets_defaults_unset_and_levels_live_in_the_engine() -> None:
    for name, text in _files().items():
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        for preset in PRESETS:
            assert not re.search(rf"\b{preset}\s*:", code), f"{name} copies the {preset} preset"
        if name != THE_MODULE_CALL:
            assert "split(',')" not in code, f"{name} parses comma-separated levels"
            assert not re.search(r"!= 0\b|> 0 else", code), f"{name} translates 0 as unset"
