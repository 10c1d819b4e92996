"""What a control-API PUT of 10,000 faults costs, and where the time goes.

In process (the gateway's ``ControlApi`` with the per-request cap raised to 10,000; over HTTP a
client sends at most 1,000 per request, as ``gateway_throughput.py`` arms its 10,000): PUT of 10,000
faults against PUT of 1,000, interleaved in rotating order over ROUNDS rounds, wall and CPU time; then the first
decision after the PUT (the engine builds its index for the call's service and region). Like ``outage
serve``, the process freezes its start-up heap (``gc.freeze``) before it measures. Then one
PUT under cProfile: the share of its time spent in each part (JSON, the depth check, validation of
the faults, the guardrail gate, the engine). Target: PUT of 10,000 faults in at most 200 ms.
"""

from __future__ import annotations

import cProfile
import gc
import json
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import figure, finish, interleave, ratios, setup

from chaos import Call
from chaos.guardrails import limits_for
from chaos.injectors.control import ControlApi
from chaos.injectors.gateway import GatewayInjector

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "9"))
PROFILE_ROUNDS = 5
TARGET_MS = 200
#: Parts of a PUT, as (file name end, function) in the profile.
PARTS = {
    "JSON parsing": ("json/__init__.py", "loads"),
    "JSON depth check": ("control.py", "_depth"),
    "validation of the faults (pydantic)": ("pydantic/main.py", "model_validate"),
    "guardrail gate": ("gate.py", "admit"),
    "engine: removing the old faults": ("engine.py", "remove"),
    "engine: adding the new faults": ("engine.py", "add"),
    "overlap check": ("control.py", "_conflict"),
}


def body(count: int) -> bytes:
    """``count`` S3 faults as a client sends them: bucket-scoped, a third with a key prefix, a fifth sampled."""
    faults = [
        {
            "kind": "unavailable",
            "service": "s3",
            "region": "us-east-1",
            "buckets": [f"b{i}"],
            **({"key_prefix": f"p{i}/"} if i % 3 == 0 else {}),
            **({"probability": 0.5} if i % 5 == 0 else {}),
        }
        for i in range(count)
    ]
    return json.dumps(faults, separators=(",", ":")).encode()


def main() -> int:
    api = ControlApi(GatewayInjector(seed=1), lambda: None, max_per_request=10_000, limits=limits_for(None))
    bodies = {"PUT 10,000": body(10_000), "PUT 1,000": body(1_000)}
    assert len(bodies["PUT 10,000"]) < 1024 * 1024, "the control API's body limit"
    call = Call("s3", "GetObject", "us-east-1", bucket="b7", key="k")
    cpu: dict[str, list[float]] = {name: [] for name in bodies}
    first: list[float] = []

    def put(name: str) -> float:
        started, cpu_started = time.perf_counter(), time.process_time()
        status, answer = api.handle("PUT", "/_chaos/faults", bodies[name])
        elapsed, cpu_elapsed = time.perf_counter() - started, time.process_time() - cpu_started
        assert status == 200 and len(answer["ids"]) == int(name.split()[1].replace(",", "")), answer
        cpu[name].append(cpu_elapsed * 1000)
        started = time.perf_counter()
        decision = api.injector.engine.decide(call)
        if name == "PUT 10,000":
            first.append((time.perf_counter() - started) * 1000)
        assert decision.fault_index is not None and decision.fault_label == "unavailable s3 us-east-1 buckets=b7"
        return elapsed * 1000

    for name in bodies:  # warm-up: botocore's models loaded for the validators
        put(name)
    gc.freeze()  # as outage serve does once started (chaos/cli/serve.py): the start-up heap is not walked again
    for values in cpu.values():
        values.clear()
    first.clear()
    wall = interleave({name: (lambda n=name: put(n)) for name in bodies}, ROUNDS)
    setup(rounds=ROUNDS, faults=10_000, body_bytes=len(bodies["PUT 10,000"]))
    ok = figure(
        "put 10000 ms",
        wall["PUT 10,000"],
        "ms",
        target=TARGET_MS,
        better="lower",
        label="PUT of 10,000 faults, wall",
        digits=1,
    )
    figure("put 10000 cpu ms", cpu["PUT 10,000"], "ms", better="lower", label="PUT of 10,000 faults, CPU", digits=1)
    figure("put 1000 ms", wall["PUT 1,000"], "ms", better="lower", label="PUT of 1,000 faults, wall", digits=1)
    figure(
        "put 10000 / 1000",
        ratios(wall["PUT 10,000"], wall["PUT 1,000"]),
        "x",
        better="lower",
        label="PUT of 10,000 / PUT of 1,000 (10 is linear)",
        digits=2,
    )
    figure("first decision ms", first, "ms", better="lower", label="first decision after the PUT of 10,000", digits=1)

    # Where a PUT goes, under cProfile: each part's share in each of PROFILE_ROUNDS profiled PUTs.
    shares: dict[str, list[float]] = {part: [] for part in PARTS}
    totals = []
    for _ in range(PROFILE_ROUNDS):
        profiler = cProfile.Profile()
        profiler.enable()
        api.handle("PUT", "/_chaos/faults", bodies["PUT 10,000"])
        profiler.disable()
        stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
        total = sum(tottime for (_, _, tottime, _, _) in stats.values())
        totals.append(total)
        for part, (ending, function) in PARTS.items():
            spent = sum(
                cumtime
                for (filename, _, name), (_, _, _, cumtime, _) in stats.items()
                if filename.endswith(ending) and name == function
            )
            shares[part].append(100 * spent / total)
    middle = sorted(totals)[len(totals) // 2]
    print(f"profile of a PUT of 10,000 faults ({middle * 1000:.0f} ms under cProfile, median), share of the time:")
    for part, values in shares.items():
        figure(f"profile: {part}", values, "%", label=f"  {part}", digits=0)
    return finish(ok)


if __name__ == "__main__":
    raise SystemExit(main())
