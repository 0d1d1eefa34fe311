# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one OKE worker node of a pool can give to pods, and how many of a pod fit on it.

The one place these figures live: the inference roles' preflights refuse a pod that cannot fit its pool, and the
observe stage's replicas-per-node (autoscaling max-replicas check) comes from the same call.
Plain Python, no Ansible imports (filter plugin llmops.oke.pod_node_fit wraps it).
"""

from __future__ import annotations

import math
from typing import Any

# Oracle, Compute Shapes (https://docs.oracle.com/en-us/iaas/Content/Compute/References/computeshapes.htm):
# GPU shapes are fixed (OCPUs, GB of memory, NVIDIA A10 24 GB GPUs); VM.Standard.A1.Flex takes 1-80 OCPUs and up to
# 64 GB per OCPU, 512 GB at most. The same page: "1 OCPU on Arm A1 = 1 core = 1 vCPU"; x86 runs two threads per
# core, so one OCPU is two vCPUs there. Kubernetes counts vCPUs (a node's cpu capacity is its logical CPUs).
SHAPES: dict[str, dict[str, Any]] = {
    "VM.GPU.A10.1": {"ocpus": 15, "memory_gb": 240, "gpus": 1, "vcpus_per_ocpu": 2},
    "VM.GPU.A10.2": {"ocpus": 30, "memory_gb": 480, "gpus": 2, "vcpus_per_ocpu": 2},
    "BM.GPU.A10.4": {"ocpus": 64, "memory_gb": 1024, "gpus": 4, "vcpus_per_ocpu": 2},
    "VM.Standard.A1.Flex": {"flexible": True, "max_ocpus": 80, "max_memory_gb": 512, "max_gb_per_ocpu": 64,
                            "gpus": 0, "vcpus_per_ocpu": 1},
}

# Oracle, Common Issues with Nodes and Pods, "Unresponsive worker nodes and/or pods stuck in Pending state due to
# insufficient resources" (https://docs.oracle.com/en-us/iaas/Content/ContEng/Tasks/contengtroubleshooting_topic-node_issues.htm):
# reserve --kube-reserved=cpu=500m,memory=1Gi and --system-reserved=cpu=100m,memory=100Mi on every worker node.
KUBE_RESERVED = {"cpu_m": 500, "memory_mib": 1024}
SYSTEM_RESERVED = {"cpu_m": 100, "memory_mib": 100}
# Kubernetes, Reserve Compute Resources for System Daemons (kubernetes.io/docs/tasks/administer-cluster/
# reserve-compute-resources): allocatable = capacity - kube-reserved - system-reserved - the hard eviction threshold,
# whose kubelet default is memory.available<100Mi.
EVICTION_HARD_MEMORY_MIB = 100
RESERVED_CPU_M = KUBE_RESERVED["cpu_m"] + SYSTEM_RESERVED["cpu_m"]
RESERVED_MEMORY_MIB = KUBE_RESERVED["memory_mib"] + SYSTEM_RESERVED["memory_mib"] + EVICTION_HARD_MEMORY_MIB


class NodeFitError(ValueError):
    """A pool or pod description the fit cannot be computed from (unknown shape, missing size)."""


def _number(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise NodeFitError(f"{what}={value!r}: needs a number") from None


def node_allocatable(shape: str, ocpus: Any = 0, memory_gb: Any = 0) -> dict[str, Any]:
    """CPU (millicores of vCPU), memory (MiB) and GPUs one node of ``shape`` can give to pods.

    Flexible shapes need ``ocpus`` and ``memory_gb``; fixed shapes ignore them. A shape's GB are taken as GiB
    (OCI sizes memory in binary gigabytes).
    """
    if shape not in SHAPES:
        raise NodeFitError(f"no figures for shape {shape!r}; known shapes: {', '.join(sorted(SHAPES))}")
    spec = SHAPES[shape]
    if spec.get("flexible"):
        ocpus_n, memory_n = _number(ocpus, "ocpus"), _number(memory_gb, "memory_gb")
        if ocpus_n <= 0 or memory_n <= 0:
            raise NodeFitError(f"{shape} is flexible: give its OCPUs and memory")
    else:
        ocpus_n, memory_n = float(spec["ocpus"]), float(spec["memory_gb"])
    vcpus = ocpus_n * spec["vcpus_per_ocpu"]
    return {
        "shape": shape,
        "ocpus": ocpus_n,
        "memory_gb": memory_n,
        "vcpus": vcpus,
        "gpus": int(spec["gpus"]),
        "cpu_m": max(int(vcpus * 1000) - RESERVED_CPU_M, 0),
        "memory_mib": max(int(memory_n * 1024) - RESERVED_MEMORY_MIB, 0),
        "reserved_cpu_m": RESERVED_CPU_M,
        "reserved_memory_mib": RESERVED_MEMORY_MIB,
    }


def shape_problems(shape: str, ocpus: Any = 0, memory_gb: Any = 0) -> list[str]:
    """What Oracle's shape page does not allow for a flexible shape's size (empty for a fixed shape)."""
    spec = SHAPES.get(shape, {})
    if not spec.get("flexible"):
        return []
    ocpus_n, memory_n = _number(ocpus, "ocpus"), _number(memory_gb, "memory_gb")
    problems = []
    if not 1 <= ocpus_n <= spec["max_ocpus"]:
        problems.append(f"{shape} takes 1 to {spec['max_ocpus']} OCPUs, not {ocpus_n:g}")
    top = min(spec["max_memory_gb"], spec["max_gb_per_ocpu"] * ocpus_n)
    if not 1 <= memory_n <= top:
        problems.append(f"{shape} with {ocpus_n:g} OCPUs takes 1 to {top:g} GB of memory, not {memory_n:g}")
    return problems


def _cores(cpu_m: float) -> str:
    return f"{cpu_m / 1000:g}"


def pod_node_fit(pod: dict[str, Any], pool: dict[str, Any]) -> dict[str, Any]:
    """How many of ``pod`` one node of ``pool`` holds, and why none fits.

    ``pod``: cpu (vCPUs, the request), memory_gib, gpus (0 for a CPU pod), tensor_parallel (optional), and ``say``:
    for each of those keys, the words naming the variable that set it (``llama_cpp_ocpus=16``).
    ``pool``: shape, ocpus, memory_gb, and ``say`` for each. Returns {fits, replicas_per_node, problems, allocatable}.
    """
    pod_say, pool_say = pod.get("say", {}), pool.get("say", {})
    shape = str(pool.get("shape", ""))
    problems = shape_problems(shape, pool.get("ocpus", 0), pool.get("memory_gb", 0)) if shape in SHAPES else []
    if problems:
        who = f"{pool_say.get('ocpus', 'ocpus')}, {pool_say.get('memory_gb', 'memory_gb')}"
        return {"fits": False, "replicas_per_node": 0, "allocatable": {},
                "problems": [f"{who}: {problem}" for problem in problems]}
    try:
        node = node_allocatable(shape, pool.get("ocpus", 0), pool.get("memory_gb", 0))
    except NodeFitError as error:
        return {"fits": False, "replicas_per_node": 0, "allocatable": {},
                "problems": [f"{pool_say.get('shape', 'shape')}: {error}"]}
    cpu_m = _number(pod.get("cpu", 0), "cpu") * 1000
    memory_mib = _number(pod.get("memory_gib", 0), "memory_gib") * 1024
    gpus = int(_number(pod.get("gpus", 0), "gpus"))
    tensor_parallel = int(_number(pod.get("tensor_parallel", 1), "tensor_parallel"))
    reserved = (f"on {shape}, after the {_cores(node['reserved_cpu_m'])} CPU and {node['reserved_memory_mib']} MiB "
                "that OKE's documented kube-reserved, system-reserved and eviction threshold keep")
    gives_cpu = pool_say.get("ocpus") if SHAPES[shape].get("flexible") else pool_say.get("shape")
    gives_memory = pool_say.get("memory_gb") if SHAPES[shape].get("flexible") else pool_say.get("shape")
    unit = "OCPUs" if SHAPES[shape]["vcpus_per_ocpu"] == 1 else "vCPUs"
    counts = []
    if cpu_m > node["cpu_m"]:
        problems.append(f"{pod_say.get('cpu', 'cpu')} needs {_cores(cpu_m)} {unit}; {gives_cpu} gives "
                        f"{_cores(node['cpu_m'])} a pod can request {reserved}")
    elif cpu_m > 0:
        counts.append(math.floor(node["cpu_m"] / cpu_m))
    if memory_mib > node["memory_mib"]:
        problems.append(f"{pod_say.get('memory_gib', 'memory_gib')} needs {memory_mib / 1024:g} GiB; {gives_memory} "
                        f"gives {node['memory_mib'] / 1024:.2f} GiB a pod can request {reserved}")
    elif memory_mib > 0:
        counts.append(math.floor(node["memory_mib"] / memory_mib))
    if gpus > node["gpus"]:
        problems.append(f"{pod_say.get('gpus', 'gpus')} needs {gpus} GPUs; {pool_say.get('shape', 'shape')} "
                        f"has {node['gpus']}")
    elif gpus > 0:
        counts.append(node["gpus"] // gpus)
    if tensor_parallel > max(node["gpus"], 0) and node["gpus"] > 0:
        problems.append(f"{pod_say.get('tensor_parallel', 'tensor_parallel')} needs {tensor_parallel} GPUs of one "
                        f"node; {pool_say.get('shape', 'shape')} has {node['gpus']}")
    replicas = 0 if problems else (min(counts) if counts else 0)
    return {"fits": not problems, "replicas_per_node": replicas, "problems": problems, "allocatable": node}
