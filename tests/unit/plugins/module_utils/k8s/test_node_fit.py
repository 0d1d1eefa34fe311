"""node_fit: what one OKE node of a pool can give to pods, from Oracle's shape figures and OKE's documented
reservations (the sources are cited in plugins/module_utils/k8s/node_fit.py), and how many of a pod fit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ansible_collections.llmops.oke.plugins.module_utils.bench.capacity import DEFAULT_PRICES
from ansible_collections.llmops.oke.plugins.module_utils.k8s import node_fit

VLLM_POD = {"cpu": 6, "memory_gib": 48, "gpus": 1, "tensor_parallel": 1}


def test_every_priced_shape_has_figures_and_every_figured_shape_a_price() -> None:
    assert set(node_fit.SHAPES) == set(DEFAULT_PRICES)


@pytest.mark.parametrize(("shape", "cpu_m", "memory_mib", "gpus"), [
    # x86: 2 vCPUs per OCPU; less 600m CPU and 1224 MiB (kube 500m/1Gi + system 100m/100Mi + eviction 100Mi)
    ("VM.GPU.A10.1", 15 * 2 * 1000 - 600, 240 * 1024 - 1224, 1),
    ("VM.GPU.A10.2", 30 * 2 * 1000 - 600, 480 * 1024 - 1224, 2),
    ("BM.GPU.A10.4", 64 * 2 * 1000 - 600, 1024 * 1024 - 1224, 4),
])
def test_allocatable_of_the_gpu_shapes(shape: str, cpu_m: int, memory_mib: int, gpus: int) -> None:
    node = node_fit.node_allocatable(shape)
    assert (node["cpu_m"], node["memory_mib"], node["gpus"]) == (cpu_m, memory_mib, gpus)


def test_an_a1_ocpu_is_one_vcpu() -> None:
    node = node_fit.node_allocatable("VM.Standard.A1.Flex", 8, 48)
    assert (node["vcpus"], node["cpu_m"], node["memory_mib"], node["gpus"]) == (8, 7400, 48 * 1024 - 1224, 0)


@pytest.mark.parametrize(("shape", "replicas"), [("VM.GPU.A10.1", 1), ("VM.GPU.A10.2", 2), ("BM.GPU.A10.4", 4)])
def test_one_gpu_vllm_pods_per_node(shape: str, replicas: int) -> None:
    fit = node_fit.pod_node_fit(VLLM_POD, {"shape": shape})
    assert fit["fits"] and fit["replicas_per_node"] == replicas, fit


def test_the_issue_misfit_is_refused_naming_both_variables() -> None:
    """chatbot asks 16 OCPUs, the shipped A1 pool had 8: observe.yml's max(8 // 16, 1) said 1 replica per node."""
    fit = node_fit.pod_node_fit(
        {"cpu": 16, "memory_gib": 24, "say": {"cpu": "llama_cpp_preset=chatbot (llama_cpp_ocpus=16)"}},
        {"shape": "VM.Standard.A1.Flex", "ocpus": 8, "memory_gb": 48, "say": {"ocpus": "oke_node_pools_cpu_ocpus=8"}})
    assert not fit["fits"] and fit["replicas_per_node"] == 0
    assert fit["problems"] == [
        "llama_cpp_preset=chatbot (llama_cpp_ocpus=16) needs 16 OCPUs; oke_node_pools_cpu_ocpus=8 gives 7.4 a pod can "
        "request on VM.Standard.A1.Flex, after the 0.6 CPU and 1224 MiB that OKE's documented kube-reserved, "
        "system-reserved and eviction threshold keep"]


def test_a_whole_node_request_does_not_fit_because_of_the_reservations() -> None:
    fit = node_fit.pod_node_fit({"cpu": 16, "memory_gib": 24},
                                {"shape": "VM.Standard.A1.Flex", "ocpus": 16, "memory_gb": 64})
    assert not fit["fits"]
    fit = node_fit.pod_node_fit({"cpu": 16, "memory_gib": 24},
                                {"shape": "VM.Standard.A1.Flex", "ocpus": 17, "memory_gb": 64})
    assert fit["fits"] and fit["replicas_per_node"] == 1


def test_memory_limits_the_replicas_too() -> None:
    fit = node_fit.pod_node_fit({"cpu": 2, "memory_gib": 24},
                                {"shape": "VM.Standard.A1.Flex", "ocpus": 17, "memory_gb": 64})
    assert fit["replicas_per_node"] == 2  # CPU alone would allow 8


def test_tensor_parallel_above_the_shape_gpus_is_refused() -> None:
    fit = node_fit.pod_node_fit({**VLLM_POD, "gpus": 2, "tensor_parallel": 2,
                                 "say": {"tensor_parallel": "vllm_tensor_parallel_size=2", "gpus": "vllm_gpus=2"}},
                                {"shape": "VM.GPU.A10.1", "say": {"shape": "oke_node_pools_gpu_shape=VM.GPU.A10.1"}})
    assert not fit["fits"]
    want = "vllm_tensor_parallel_size=2 needs 2 GPUs of one node; oke_node_pools_gpu_shape=VM.GPU.A10.1 has 1"
    assert want in fit["problems"], fit["problems"]


@pytest.mark.parametrize(("ocpus", "memory_gb"), [(0, 8), (81, 64), (2, 129), (4, 0)])
def test_an_a1_size_oracle_does_not_sell_is_refused(ocpus: int, memory_gb: int) -> None:
    fit = node_fit.pod_node_fit({"cpu": 1, "memory_gib": 1}, {"shape": "VM.Standard.A1.Flex", "ocpus": ocpus,
                                                              "memory_gb": memory_gb,
                                                              "say": {"ocpus": "oke_node_pools_cpu_ocpus"}})
    assert not fit["fits"] and "oke_node_pools_cpu_ocpus" in fit["problems"][0]


def test_an_unknown_shape_names_the_variable() -> None:
    fit = node_fit.pod_node_fit(VLLM_POD, {"shape": "VM.GPU.H100", "say": {"shape": "vllm_node_shape=VM.GPU.H100"}})
    assert not fit["fits"] and fit["problems"][0].startswith("vllm_node_shape=VM.GPU.H100: no figures")


def test_the_nodes_reserve_what_the_fit_check_takes_off() -> None:
    """The provision stage's node bootstrap passes Oracle's recommended reservations to the kubelet."""
    role = Path(__file__).resolve().parents[5] / "roles" / "oke_node_pools"
    template = (role / "templates" / "taint-user-data.sh.j2").read_text()
    kube = re.search(r"--kube-reserved=cpu=(\d+)m,memory=(\d+)Gi", template)
    system = re.search(r"--system-reserved=cpu=(\d+)m,memory=(\d+)Mi", template)
    assert kube and system, template
    assert {"cpu_m": int(kube[1]), "memory_mib": int(kube[2]) * 1024} == node_fit.KUBE_RESERVED
    assert {"cpu_m": int(system[1]), "memory_mib": int(system[2])} == node_fit.SYSTEM_RESERVED
