"""The HPA model against cases worked out by hand (see each test's comment for the arithmetic)."""

from __future__ import annotations

import pytest

from ansible_collections.llmops.oke.plugins.module_utils.bench.hpa_model import (
    HpaController,
    HpaPolicy,
    ServiceCapacity,
    TrafficProfile,
    desired_replicas,
    recommend,
    simulate,
)


@pytest.mark.parametrize(("current", "value", "target", "expected"), [
    (2, 30.0, 10.0, 6),   # ratio 3 -> ceil(2 * 3) = 6
    (2, 10.5, 10.0, 2),   # ratio 1.05 is inside the 0.1 tolerance: no change
    (2, 11.5, 10.0, 3),   # ratio 1.15 -> ceil(2.3) = 3
    (4, 8.9, 10.0, 4),    # ratio 0.89 -> 3.56 -> 4: ceil keeps the count
    (4, 5.0, 10.0, 2),    # ratio 0.5 -> 2
    (3, 0.0, 4.0, 0),     # an empty queue asks for 0 (min_replicas clamps it later)
])
def test_desired_replicas_formula(current: int, value: float, target: float, expected: int) -> None:
    assert desired_replicas(current, value, target) == expected


def test_unready_pods_count_as_zero_on_scale_up() -> None:
    # 1 ready pod reports 40 waiting, 3 pods still load the model: 40 / 4 pods / 4 = 2.5 -> ceil(2.5 * 4) = 10
    assert desired_replicas(4, 40.0, 4.0, ready=1, unready=3) == 10


def test_unready_pods_count_as_target_on_scale_down() -> None:
    # 2 ready pods at 1 each, 2 unready assumed at target 4: (2 + 8) / 4 / 4 = 0.625 -> ceil(2.5) = 3
    assert desired_replicas(4, 1.0, 4.0, ready=2, unready=2) == 3


def test_unready_pods_cannot_flip_the_direction() -> None:
    # ratio 5/4 = 1.25 says up; with the unready pod at 0 it is 5 / 2 / 4 = 0.625: no change
    assert desired_replicas(2, 5.0, 4.0, ready=1, unready=1) == 2


def test_scale_down_waits_for_the_stabilization_window() -> None:
    policy = HpaPolicy(target_per_pod=4, min_replicas=1, max_replicas=10, scale_down_stabilization_s=60,
                       scale_down_pods=None)
    controller = HpaController(policy)
    assert controller.step(0, 4, 4.0, 4, 0) == 4      # on target
    assert controller.step(15, 4, 1.0, 4, 0) == 4     # raw 1, but 4 was recommended 15 s ago
    assert controller.step(60, 4, 1.0, 4, 0) == 4     # the t=0 recommendation is still inside 60 s
    assert controller.step(75, 4, 1.0, 4, 0) == 1     # window now holds only raw 1s


def test_scale_up_pods_policy_limits_each_period() -> None:
    policy = HpaPolicy(target_per_pod=1, min_replicas=1, max_replicas=20, scale_up_pods=2, scale_up_period_s=60)
    controller = HpaController(policy)
    assert controller.step(0, 1, 10.0, 1, 0) == 3     # raw 10, at most +2 per 60 s
    assert controller.step(15, 3, 10.0, 1, 2) == 3    # the 2 pods of this period are spent
    assert controller.step(60, 3, 10.0, 3, 0) == 5    # a new period: +2 again


def test_steady_load_under_capacity_never_queues() -> None:
    capacity = ServiceCapacity(service_rate_rps=2.0, concurrency=8)
    policy = HpaPolicy(target_per_pod=4, min_replicas=2, max_replicas=6)
    result = simulate(capacity, TrafficProfile.steady(3.0, duration_s=600), policy, startup_delay_s=60)
    assert result.peak_waiting == 0
    assert result.peak_replicas == 2
    assert result.time_to_absorb_s == 0


def test_spike_hand_worked() -> None:
    # mu = 2 req/s per replica, 8 slots; 5 req/s from t=0 on one replica: backlog after second t is 3(t+1).
    # t=15: waiting 48 - 8 = 40 per pod, ratio 10 -> 10, clamped to 4; the 3 new pods serve at t=75.
    # Backlog after t=74 is 225 (peak waiting 225 - 8 = 217); from t=75 it drains by 8 - 5 = 3 per second,
    # and waiting (backlog - 32 slots) first reaches 0 at t=139 (backlog 30): absorbed after 139 s.
    capacity = ServiceCapacity(service_rate_rps=2.0, concurrency=8)
    profile = TrafficProfile.spike(base_rps=1.0, peak_rps=5.0, start_s=0, length_s=600, duration_s=900)
    policy = HpaPolicy(target_per_pod=4, min_replicas=1, max_replicas=4, scale_down_stabilization_s=300,
                       scale_down_pods=1, scale_down_period_s=120)
    result = simulate(capacity, profile, policy, startup_delay_s=60)
    assert result.replicas_at(14) == 1
    assert result.replicas_at(15) == 4
    assert result.points[74].ready == 1 and result.points[75].ready == 4
    assert result.peak_waiting == pytest.approx(217.0)
    assert result.points[138].waiting == pytest.approx(1.0)
    assert result.time_to_absorb_s == 139
    # The last raw recommendation of 4 is at t=120 (waiting 55 on 4 pods); 300 s later the window
    # allows 3 (raw at t=135), then one pod per 120 s: 2 replicas at t=555, too few for 5 req/s.
    assert result.replicas_at(434) == 4
    assert result.replicas_at(435) == 3
    assert result.replicas_at(554) == 3
    assert result.replicas_at(555) == 2
    assert max(p.waiting for p in result.points[555:600]) > 0


def test_ramp_on_a_queue_signal_overshoots_then_oscillates() -> None:
    # 1 -> 9 req/s over 10 minutes, mu 2 req/s with 4 slots: one replica saturates at 2 req/s (t=120).
    capacity = ServiceCapacity(service_rate_rps=2.0, concurrency=4)
    profile = TrafficProfile.ramp(start_rps=1.0, end_rps=9.0, start_s=60, length_s=600, duration_s=1500)
    policy = HpaPolicy(target_per_pod=2, min_replicas=1, max_replicas=6)
    result = simulate(capacity, profile, policy, startup_delay_s=60)
    replicas = [p.replicas for p in result.points]
    assert replicas[179] == 1 and replicas[180] > 1   # first sync with a queue above target
    assert max(replicas) == 6
    assert result.time_to_absorb_s is not None
    # An empty queue cannot tell 5 replicas (enough for 9 req/s) from 6: it drops to 4, queues, climbs back.
    assert min(replicas[660:]) == 4
    assert result.points[-1].waiting == 0


def test_capacity_from_llmperf_summary() -> None:
    capacity = ServiceCapacity.from_benchmark({"results_num_completed_requests_per_min": 120.0,
                                               "num_concurrent_requests": 8})
    assert capacity == ServiceCapacity(2.0, 8)
    with pytest.raises(KeyError):
        ServiceCapacity.from_benchmark({"num_concurrent_requests": 8})


def test_recommend_worked_example() -> None:
    # mu 2 req/s at concurrency 8; 4 -> 12 req/s for 10 minutes; 2 s of queueing allowed.
    # target = floor(2 * 2) = 4; max = ceil(12 / (2 * 0.8)) = 8; min = ceil(4 / 2) = 2.
    capacity = ServiceCapacity(2.0, 8)
    profile = TrafficProfile.spike(base_rps=4.0, peak_rps=12.0, start_s=300, length_s=600, duration_s=1800)
    advice = recommend(capacity, profile, queue_wait_budget_s=2.0, startup_delay_s=120)
    assert (advice.target_per_pod, advice.min_replicas, advice.max_replicas) == (4, 2, 8)
    sim = advice.simulation
    assert sim.peak_replicas <= 8
    assert sim.time_to_absorb_s is not None and sim.time_to_absorb_s < 600
    # Before the spike two replicas carry 4 req/s exactly: nothing waits.
    assert max(p.waiting for p in sim.points[:300]) == 0


def test_invalid_inputs_are_rejected() -> None:
    with pytest.raises(ValueError):
        ServiceCapacity(0.0, 8)
    with pytest.raises(ValueError):
        HpaPolicy(target_per_pod=4, min_replicas=3, max_replicas=2)
