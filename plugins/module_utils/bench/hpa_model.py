# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A model of the Kubernetes HPA (autoscaling/v2) scaling a model server on its queue depth.

Plain Python (no Ansible imports) so the benchmark report can call it and the tests can check it
against hand-worked cases. It answers "which HPA target and max replicas for this traffic?" before
anything is deployed:

* ``desired_replicas`` is the HPA controller's formula for a Pods metric with an AverageValue
  target: ``ceil(current * value / target)``, no change inside the tolerance (0.1 by default), and
  pods without metrics (still loading the model) counted as 0 on scale-up and as the target on
  scale-down, as the controller does.
* ``HpaPolicy`` adds min/max replicas, the scale-up/scale-down stabilization windows and the
  ``behavior`` rate policies (Pods per period).
* ``simulate`` drives that controller with a fluid queue model: each ready replica serves
  ``service_rate_rps`` requests/s (the benchmark's throughput at the SLO concurrency) and holds up
  to ``concurrency`` requests in flight; the rest wait, which is what ``vllm:num_requests_waiting``
  and ``llamacpp:requests_deferred`` report. New replicas serve only after ``startup_delay_s``.
* ``recommend`` turns a benchmark capacity and a traffic profile into an HPA target and min/max,
  and returns the simulated replicas, queue depth and time to absorb the peak.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Seconds per simulation step; the HPA sync period and delays are whole multiples of it.
STEP_S = 1


@dataclass(frozen=True)
class ServiceCapacity:
    """What one replica sustains: requests/s at the SLO concurrency, and that concurrency."""

    service_rate_rps: float
    concurrency: int

    def __post_init__(self) -> None:
        if self.service_rate_rps <= 0:
            raise ValueError(f"service_rate_rps must be > 0, got {self.service_rate_rps}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {self.concurrency}")

    @classmethod
    def from_benchmark(cls, summary: Mapping[str, Any]) -> ServiceCapacity:
        """Read a benchmark summary: our keys (requests_per_s, concurrency) or LLMPerf's.

        LLMPerf writes ``results_num_completed_requests_per_min`` and ``num_concurrent_requests``.
        """
        if "requests_per_s" in summary:
            rate = float(summary["requests_per_s"])
        elif "results_num_completed_requests_per_min" in summary:
            rate = float(summary["results_num_completed_requests_per_min"]) / 60.0
        else:
            raise KeyError("benchmark summary has neither requests_per_s nor results_num_completed_requests_per_min")
        concurrency = summary.get("concurrency", summary.get("num_concurrent_requests"))
        if concurrency is None:
            raise KeyError("benchmark summary has neither concurrency nor num_concurrent_requests")
        return cls(service_rate_rps=rate, concurrency=int(concurrency))


@dataclass(frozen=True)
class TrafficProfile:
    """Arrival rate (requests/s) over time; build with ``steady``, ``spike`` or ``ramp``."""

    name: str
    rate_at: Callable[[float], float]
    base_rps: float
    peak_rps: float
    duration_s: int
    # When the load first rises above the base (the start of the event to absorb).
    event_start_s: int = 0

    @classmethod
    def steady(cls, rate_rps: float, duration_s: int = 1800) -> TrafficProfile:
        return cls("steady", lambda _t: rate_rps, rate_rps, rate_rps, duration_s, 0)

    @classmethod
    def spike(cls, base_rps: float, peak_rps: float, start_s: int, length_s: int,
              duration_s: int = 1800) -> TrafficProfile:
        def rate(t: float) -> float:
            return peak_rps if start_s <= t < start_s + length_s else base_rps

        return cls("spike", rate, base_rps, peak_rps, duration_s, start_s)

    @classmethod
    def ramp(cls, start_rps: float, end_rps: float, start_s: int, length_s: int,
             duration_s: int = 1800) -> TrafficProfile:
        def rate(t: float) -> float:
            if t < start_s:
                return start_rps
            if t >= start_s + length_s:
                return end_rps
            return start_rps + (end_rps - start_rps) * (t - start_s) / length_s

        return cls("ramp", rate, min(start_rps, end_rps), max(start_rps, end_rps), duration_s, start_s)


@dataclass(frozen=True)
class HpaPolicy:
    """The HPA spec: Pods metric with an AverageValue target, min/max and ``behavior``."""

    target_per_pod: float
    min_replicas: int
    max_replicas: int
    tolerance: float = 0.1
    sync_period_s: int = 15
    scale_up_stabilization_s: int = 0
    scale_down_stabilization_s: int = 300
    # behavior.scaleUp/scaleDown policies of type Pods: at most N pods per period (None: no limit).
    scale_up_pods: int | None = None
    scale_up_period_s: int = 60
    scale_down_pods: int | None = 1
    scale_down_period_s: int = 120

    def __post_init__(self) -> None:
        if self.target_per_pod <= 0:
            raise ValueError(f"target_per_pod must be > 0, got {self.target_per_pod}")
        if not 1 <= self.min_replicas <= self.max_replicas:
            raise ValueError(f"need 1 <= min_replicas <= max_replicas, got {self.min_replicas}..{self.max_replicas}")


def desired_replicas(current: int, value_per_pod: float, target_per_pod: float, tolerance: float = 0.1,
                     ready: int | None = None, unready: int = 0) -> int:
    """The HPA controller's recommendation for a Pods metric with an AverageValue target.

    ``current`` is the Deployment's replicas, ``value_per_pod`` the average over the ``ready`` pods
    that report the metric (defaults to all of them), ``unready`` the pods without a metric yet.
    """
    ready = current if ready is None else ready
    if ready <= 0:
        return current
    ratio = value_per_pod / target_per_pod
    if unready == 0:
        if abs(ratio - 1.0) <= tolerance:
            return current
        return math.ceil(ratio * ready)
    # Pods without metrics count as 0 when scaling up and as the target when scaling down.
    total = value_per_pod * ready
    if ratio > 1.0:
        new_ratio = total / (ready + unready) / target_per_pod
    else:
        new_ratio = (total + unready * target_per_pod) / (ready + unready) / target_per_pod
    if abs(new_ratio - 1.0) <= tolerance or (new_ratio > 1.0) != (ratio > 1.0):
        return current
    proposal = math.ceil(new_ratio * (ready + unready))
    # The controller never reverses direction because of the pods it had to guess.
    if (ratio > 1.0 and proposal < current) or (ratio < 1.0 and proposal > current):
        return current
    return proposal


@dataclass
class HpaController:
    """Stateful HPA: recommendation history for stabilization, scale events for rate policies."""

    policy: HpaPolicy
    recommendations: list[tuple[int, int]] = field(default_factory=list)
    scale_events: list[tuple[int, int]] = field(default_factory=list)

    def step(self, now_s: int, current: int, value_per_pod: float, ready: int, unready: int) -> int:
        """One sync: returns the new replica count for the Deployment."""
        policy = self.policy
        raw = desired_replicas(current, value_per_pod, policy.target_per_pod, policy.tolerance, ready, unready)
        raw = min(max(raw, policy.min_replicas), policy.max_replicas)
        self.recommendations.append((now_s, raw))
        keep = max(policy.scale_up_stabilization_s, policy.scale_down_stabilization_s)
        self.recommendations = [(t, r) for t, r in self.recommendations if now_s - t <= keep]
        # Scale up to the lowest, down to the highest recommendation inside each window.
        up_window = [r for t, r in self.recommendations if now_s - t <= policy.scale_up_stabilization_s]
        down_window = [r for t, r in self.recommendations if now_s - t <= policy.scale_down_stabilization_s]
        desired = current
        if raw > current:
            desired = max(current, min(up_window))
        elif raw < current:
            desired = min(current, max(down_window))
        desired = self._rate_limited(now_s, current, desired)
        desired = min(max(desired, policy.min_replicas), policy.max_replicas)
        if desired != current:
            self.scale_events.append((now_s, desired - current))
        return desired

    def _rate_limited(self, now_s: int, current: int, desired: int) -> int:
        policy = self.policy
        if desired > current and policy.scale_up_pods is not None:
            added = sum(d for t, d in self.scale_events if d > 0 and now_s - t < policy.scale_up_period_s)
            return min(desired, current + max(0, policy.scale_up_pods - added))
        if desired < current and policy.scale_down_pods is not None:
            removed = -sum(d for t, d in self.scale_events if d < 0 and now_s - t < policy.scale_down_period_s)
            return max(desired, current - max(0, policy.scale_down_pods - removed))
        return desired


@dataclass(frozen=True)
class SimulationPoint:
    t_s: int
    arrival_rps: float
    replicas: int
    ready: int
    waiting: float
    waiting_per_pod: float


@dataclass(frozen=True)
class SimulationResult:
    points: list[SimulationPoint]
    peak_waiting: float
    peak_replicas: int
    # Seconds from the start of the traffic event until the queue first empties again (None: never).
    time_to_absorb_s: int | None
    # Request-seconds spent waiting (area under the waiting curve): mean extra wait = this / requests.
    waiting_request_seconds: float

    def replicas_at(self, t_s: int) -> int:
        return self.points[t_s].replicas


def simulate(capacity: ServiceCapacity, profile: TrafficProfile, policy: HpaPolicy,
             startup_delay_s: int = 120, initial_replicas: int | None = None,
             metric_lag_s: int = 0) -> SimulationResult:
    """Step the queue and the HPA one second at a time over the profile.

    Each second: arrivals join the backlog, ready replicas serve up to ``service_rate_rps`` each,
    requests beyond ``concurrency`` per ready replica wait. Every ``sync_period_s`` the HPA reads
    the waiting requests per ready pod (as seen ``metric_lag_s`` ago: scrape and adapter delay).
    """
    replicas = initial_replicas if initial_replicas is not None else policy.min_replicas
    controller = HpaController(policy)
    ready_at: list[int] = [0] * replicas  # second at which each replica serves
    backlog = 0.0
    waiting_history: list[float] = []
    points: list[SimulationPoint] = []
    absorbed_at: int | None = None
    was_waiting = False
    area = 0.0
    for t in range(0, profile.duration_s, STEP_S):
        ready = sum(1 for start in ready_at if start <= t)
        arrival = profile.rate_at(t)
        backlog += arrival * STEP_S
        backlog -= min(backlog, ready * capacity.service_rate_rps * STEP_S)
        waiting = max(0.0, backlog - ready * capacity.concurrency)
        waiting_history.append(waiting)
        area += waiting * STEP_S
        if waiting > 0.5:
            was_waiting = True
        elif was_waiting and absorbed_at is None and t >= profile.event_start_s:
            absorbed_at = t
        if t % policy.sync_period_s == 0 and ready > 0:
            seen = waiting_history[max(0, len(waiting_history) - 1 - metric_lag_s // STEP_S)]
            new_replicas = controller.step(t, replicas, seen / ready, ready, len(ready_at) - ready)
            if new_replicas > replicas:
                ready_at += [t + startup_delay_s] * (new_replicas - replicas)
            elif new_replicas < replicas:
                # The ReplicaSet deletes not-yet-ready pods first.
                ready_at = sorted(ready_at)[: new_replicas]
            replicas = new_replicas
        points.append(SimulationPoint(t, arrival, replicas, ready, waiting, waiting / ready if ready else waiting))
    time_to_absorb = None
    if not was_waiting:
        time_to_absorb = 0
    elif absorbed_at is not None:
        time_to_absorb = absorbed_at - profile.event_start_s
    return SimulationResult(points, max(p.waiting for p in points), max(p.replicas for p in points),
                            time_to_absorb, area)


@dataclass(frozen=True)
class Recommendation:
    target_per_pod: int
    min_replicas: int
    max_replicas: int
    simulation: SimulationResult

    def as_dict(self) -> dict[str, Any]:
        sim = self.simulation
        return {"target_per_pod": self.target_per_pod, "min_replicas": self.min_replicas,
                "max_replicas": self.max_replicas, "peak_waiting": round(sim.peak_waiting, 1),
                "peak_replicas": sim.peak_replicas, "time_to_absorb_s": sim.time_to_absorb_s}


def recommend(capacity: ServiceCapacity, profile: TrafficProfile, queue_wait_budget_s: float,
              startup_delay_s: int = 120, headroom: float = 0.8, **policy_overrides: Any) -> Recommendation:
    """HPA settings for a traffic profile, checked by simulation.

    * target: the waiting requests per pod that one replica drains within ``queue_wait_budget_s``
      (the part of the TTFT SLO a request may spend queued), at least 1;
    * max replicas: peak rate over per-replica capacity at ``headroom`` utilisation;
    * min replicas: enough replicas for the base rate, so an idle queue does not scale below it.
    """
    if not 0 < headroom <= 1:
        raise ValueError(f"headroom must be in (0, 1], got {headroom}")
    target = max(1, math.floor(capacity.service_rate_rps * queue_wait_budget_s))
    max_replicas = max(1, math.ceil(profile.peak_rps / (capacity.service_rate_rps * headroom)))
    min_replicas = min(max_replicas, max(1, math.ceil(profile.base_rps / capacity.service_rate_rps)))
    policy = HpaPolicy(target_per_pod=target, min_replicas=min_replicas, max_replicas=max_replicas,
                       **policy_overrides)
    result = simulate(capacity, profile, policy, startup_delay_s=startup_delay_s)
    return Recommendation(target, min_replicas, max_replicas, result)
