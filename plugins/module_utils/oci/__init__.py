# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one shared base of every llmops.oke OCI module (see common.py, resource.py, compare.py)."""
