"""What several integration test files share: one real vLLM server (the vllm role, process runtime, rag preset).

test_vllm_process.py and test_observe_local_vllm.py both need the preset's server on 4 sequences; each vLLM start
costs 30-45 s quiet (minutes on a loaded machine), so the session starts it once. test_observe_local_vllm's play
(playbooks/local_vllm.yml) finds it running with the same command and leaves it alone, and its teardown playbook
stops it: so that file runs after test_vllm_process.py (collection order below), and this fixture's own stop at
the end of the session then finds nothing to stop. test_drain_vllm.py starts servers of its own (it SIGTERMs them).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from vllm_support import RolePlay

from ansible_collections.llmops.oke.plugins.module_utils.local.process import running_record

LAST = "test_observe_local_vllm.py"  # its teardown stops the shared server


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RolePlay]:
    play = RolePlay(tmp_path_factory.mktemp("vllm"))
    try:
        changed, output = play()
        assert changed >= 1, "the first run starts the server"
        assert "gpu_memory_utilization=0.9: dropped" in output, "the CPU mapping is said, not silent"
        yield play
    finally:
        play.run(vllm_state="absent")
        assert running_record(str(play.run_dir / "itest.pid")) is None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """test_observe_local_vllm.py after every other test (a stable sort: the rest keep their order)."""
    items.sort(key=lambda item: item.path.name == LAST)
