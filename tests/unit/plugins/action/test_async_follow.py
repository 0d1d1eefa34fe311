"""plugins/action/async_follow.py: the cheap end check reads the async job's file on a local connection.

The file's two shapes are ansible-core's own: ``{"started": true, "finished": false, ...}`` while the job runs,
then the module's result (no ``started``) written whole by async_wrapper (ansible/modules/async_wrapper.py jwrite,
ansible/modules/async_status.py). These tests write those shapes and ask the action's check.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from ansible_collections.llmops.oke.plugins.action.async_follow import ActionModule


def _action(load_name: str, become: bool, async_dir: Path) -> ActionModule:
    action = ActionModule.__new__(ActionModule)  # only the attributes ended() reads
    action._connection = SimpleNamespace(_load_name=load_name)
    action._play_context = SimpleNamespace(become=become)
    action.get_shell_option = lambda option, default=None: str(async_dir) if option == "async_dir" else default
    return action


def test_the_job_file_says_when_the_run_is_over(tmp_path: Path) -> None:
    over = _action("ansible.builtin.local", False, tmp_path).ended({"jid": "j1.2"})
    assert over is not None
    assert over() is False, "no file yet"
    (tmp_path / "j1.2").write_text('{"started": true, "finis')
    assert over() is False, "half a file"
    (tmp_path / "j1.2").write_text(json.dumps({"started": True, "finished": False, "ansible_job_id": "j1.2"}))
    assert over() is False, "running"
    (tmp_path / "j1.2").write_text(json.dumps({"changed": True, "run_dir": "/tmp/r"}))
    assert over() is True, "the module's result"
    (tmp_path / "j1.2").write_text(json.dumps({"msg": "Timeout exceeded", "failed": True}))
    assert over() is True, "the wrapper's timeout result"


def test_no_check_where_the_file_is_not_this_users_file_here(tmp_path: Path) -> None:
    assert _action("ansible.builtin.ssh", False, tmp_path).ended({"jid": "j"}) is None
    assert _action("ansible.builtin.local", True, tmp_path).ended({"jid": "j"}) is None
