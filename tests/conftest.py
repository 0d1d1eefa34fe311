"""Make the checkout importable as ``ansible_collections.llmops.oke`` for every test.

The collection root is the repository root; tests import it through a link placed under
``build/collections/ansible_collections/llmops/oke`` and export that path to any
``ansible-playbook`` the tests start.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS_ROOT = REPO_ROOT / "build" / "collections"


def _link_collection() -> None:
    namespace_dir = COLLECTIONS_ROOT / "ansible_collections" / "llmops"
    namespace_dir.mkdir(parents=True, exist_ok=True)
    link = namespace_dir / "oke"
    if not link.is_symlink():
        if link.exists():
            raise RuntimeError(f"{link} exists and is not a link to the checkout")
        link.symlink_to(REPO_ROOT, target_is_directory=True)


_link_collection()
# Shared test support modules (k8s_support, ...) live beside this file.
sys.path.insert(0, str(Path(__file__).resolve().parent))
if str(COLLECTIONS_ROOT) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_ROOT))
# ansible-playbook runs started by tests find this checkout first, then the ansible package's collections.
os.environ["ANSIBLE_COLLECTIONS_PATH"] = str(COLLECTIONS_ROOT)
