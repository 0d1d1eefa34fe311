# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Shared docs of the actions that follow a long run to its end (plugins/plugin_utils/follow.py):
    their interval and their check/diff attributes."""

    DOCUMENTATION = r"""
options:
  interval_s:
    description: Seconds between two looks.
    type: float
    default: 15
attributes:
  check_mode:
    support: full
    description: It only reads.
  diff_mode:
    support: none
    description: It changes nothing.
"""
