# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""LLM serving benchmark engine: plain Python (no Ansible imports), usable from a module or ``python -m``.

Public API: :func:`benchmark.run_benchmark` with :class:`benchmark.BenchmarkConfig`; the parts
(client, load shapes, metrics, report, capacity, correctness) live in their own modules.
"""

# The collection's version, recorded in every run's metadata; tests/unit/bench keeps it equal to galaxy.yml's.
COLLECTION_VERSION = "0.1.0"
