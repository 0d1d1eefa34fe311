#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: helm_template
short_description: Pull a pinned Helm chart by digest and render it with Helm's own engine, offline
version_added: 0.2.0
description:
  - Pulls O(chart) at exactly O(chart_version) from O(repo_url) through Helm (the C(helm-python-sdk) library, Helm
    v4's Go SDK; no C(helm) binary), verifies the archive against the digest the repository's C(index.yaml)
    publishes, and caches it by that digest under C($LLMOPS_CACHE/charts) (default C(~/.cache/llmops-oke)).
    A cached, verified archive is used without contacting the repository.
  - Checks O(values) before rendering, failing with the offending key named, when the chart has no such key
    (after Helm coalesces the chart's and its subcharts' defaults) or its C(values.schema.json) rejects a value.
  - Renders what C(helm template --include-crds --kube-version --api-versions) would apply and, with O(dest),
    writes it there. Nothing touches a cluster.
author:
  - llmops.oke maintainers (@llmops)
requirements:
  - helm-python-sdk >= 0.2.2
options:
  repo_url:
    description: Chart repository URL (an upstream repository or an internal mirror serving the same C(index.yaml)).
    type: str
    required: true
  chart:
    description: Chart name in that repository.
    type: str
    required: true
  chart_version:
    description: Exact chart version (x.y.z); ranges are refused.
    type: str
    required: true
  release_name:
    description: Release name the templates see as C(.Release.Name).
    type: str
    required: true
  release_namespace:
    description: Namespace the templates see as C(.Release.Namespace).
    type: str
    required: true
  values:
    description: Values passed to the chart.
    type: dict
    default: {}
  allowed_unknown_keys:
    description:
      - Value paths (C(/)-separated) that the chart reads although its defaults do not carry them (keys its
        C(values.yaml) documents only in comments). Everything under such a path is allowed too.
    type: list
    elements: str
    default: []
  kube_version:
    description: Kubernetes version the templates see as C(.Capabilities.KubeVersion), for example C(v1.33.0).
    type: str
    required: true
  api_versions:
    description:
      - Extra API versions the templates see in C(.Capabilities.APIVersions) (group/version or
        group/version/Kind), as the cluster serves them.
    type: list
    elements: str
    default: []
  include_crds:
    description: Prepend the chart's C(crds/) objects, as an install applies them.
    type: bool
    default: true
  dest:
    description: File to write the rendered manifests to; without it the module only checks and returns them.
    type: path
attributes:
  check_mode:
    support: full
    description: Pulls, checks and renders as usual, and reports whether O(dest) would change without writing it.
  diff_mode:
    support: full
    description: Shows the previous and the new content of O(dest).
"""

EXAMPLES = r"""
- name: Render prometheus-adapter for a Kubernetes 1.33 cluster
  llmops.oke.helm_template:
    repo_url: https://prometheus-community.github.io/helm-charts
    chart: prometheus-adapter
    chart_version: "5.3.0"
    release_name: prometheus-adapter
    release_namespace: monitoring
    values: "{{ lookup('ansible.builtin.template', 'prometheus-adapter.values.yaml.j2') | from_yaml }}"
    kube_version: v1.33.0
    api_versions: [apiregistration.k8s.io/v1]
    dest: /tmp/render/helm/prometheus-adapter.manifests.yaml
"""

RETURN = r"""
chart_path:
  description: The verified archive in the cache.
  returned: always
  type: str
digest:
  description: The archive's sha256 digest, as the repository index publishes it.
  returned: always
  type: str
cached:
  description: Whether the archive came from the cache (no repository contacted).
  returned: always
  type: bool
schema:
  description: Whether the chart ships a values.schema.json (then the values were validated against it).
  returned: always
  type: bool
objects:
  description: Kind, name and source template of every rendered object, in output order.
  returned: always
  type: list
  elements: dict
manifest:
  description: The rendered manifests (multi-document YAML).
  returned: always
  type: str
"""

from pathlib import Path

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.llmops.oke.plugins.module_utils.bench.fileio import write_if_changed
from ansible_collections.llmops.oke.plugins.module_utils.k8s.helm_chart import (
    HAS_HELM,
    HELM_IMPORT_ERROR,
    ChartError,
    pull_chart,
    render_chart,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            repo_url=dict(type="str", required=True),
            chart=dict(type="str", required=True),
            chart_version=dict(type="str", required=True),
            release_name=dict(type="str", required=True),
            release_namespace=dict(type="str", required=True),
            values=dict(type="dict", default={}),
            allowed_unknown_keys=dict(type="list", elements="str", default=[], no_log=False),
            kube_version=dict(type="str", required=True),
            api_versions=dict(type="list", elements="str", default=[]),
            include_crds=dict(type="bool", default=True),
            dest=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    if not HAS_HELM:
        module.fail_json(msg=missing_required_lib("helm-python-sdk"), exception=str(HELM_IMPORT_ERROR))
    params = module.params
    try:
        pulled = pull_chart(params["repo_url"], params["chart"], params["chart_version"])
        rendered = render_chart(
            pulled["path"], chart=params["chart"], version=params["chart_version"],
            release_name=params["release_name"], namespace=params["release_namespace"], values=params["values"],
            kube_version=params["kube_version"], api_versions=params["api_versions"],
            allowed_unknown=params["allowed_unknown_keys"], include_crds=params["include_crds"])
        changed, before = False, ""
        if params["dest"]:
            changed, before = write_if_changed(Path(params["dest"]), rendered["manifest"], module.check_mode)
    except (ChartError, OSError) as error:
        module.fail_json(msg=f"helm_template {params['release_name']}: {error}")
    result = dict(changed=changed, chart_path=pulled["path"], digest=pulled["digest"], cached=pulled["cached"],
                  schema=rendered["schema"], objects=rendered["objects"], manifest=rendered["manifest"])
    if module._diff and params["dest"]:
        result["diff"] = dict(before=before, after=rendered["manifest"], before_header=params["dest"],
                              after_header=params["dest"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
