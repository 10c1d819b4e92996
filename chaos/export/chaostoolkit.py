"""An experiment as a Chaos Toolkit experiment that arms the same faults through ``outage inject``.

* steady-state hypothesis: the experiment's steady-state probes as HTTP probes on ``${app_url}``;
* method: one background action per fault, a ``process`` provider running ``outage inject`` with the
  fault, held for its ``for``; its ``after`` is the action's pause before, and the recovery phase the
  pause after (Chaos Toolkit waits for background actions before it checks the hypothesis again);
* rollbacks: remove the faults: ``DELETE ${gateway_url}/_chaos/faults`` (every fault of that gateway),
  or, for IAM experiments, ``outage rollback --iam`` (every deny policy of this tool in the account).

The application must be running and pointed at the gateway (``outage serve``): Chaos Toolkit starts
nothing, drives no load and checks none of the experiment's ``expect`` limits; those parts are listed
in :attr:`Exported.untranslated`, like anything else that does not carry over.
"""

from __future__ import annotations

import json
from typing import Any

from chaos.engine.durations import format_duration
from chaos.engine.fault import Fault
from chaos.export.common import Exported, Untranslated
from chaos.model import Experiment, Probe

__all__ = ["DEFAULT_APP", "DEFAULT_GATEWAY", "to_chaostoolkit"]

#: Where ``outage serve`` listens by default.
DEFAULT_GATEWAY = "http://127.0.0.1:4566"
#: The application's address when the experiment gives none, or one with a port chosen at run time.
DEFAULT_APP = "http://127.0.0.1:8080"
#: Seconds an ``outage inject`` may run beyond its hold before Chaos Toolkit gives up on it.
_SLACK = 60


def _probes(probes: tuple[Probe, ...], missing: list[Untranslated]) -> list[dict[str, Any]]:
    found = []
    for index, probe in enumerate(probes):
        check = probe.http
        statuses = list(check.status)
        found.append(
            {
                "type": "probe",
                "name": probe.name,
                "tolerance": statuses[0] if len(statuses) == 1 else statuses,
                "provider": {
                    "type": "http",
                    "url": "${app_url}" + check.path,
                    "method": check.method,
                    "timeout": check.timeout,
                },
            }
        )
        if check.contains is not None:
            missing.append(
                Untranslated(
                    f"steady_state[{index}].http.contains",
                    repr(check.contains),
                    "Chaos Toolkit's HTTP probe parses JSON bodies, so a text match cannot be checked reliably: "
                    "the probe checks the status only",
                )
            )
    return found


def _inject(experiment: Experiment, fault: Fault, seconds: float) -> list[str]:
    """``outage inject`` arguments for one fault, without its timing (the action's pauses and --for carry it)."""
    shown = fault.model_copy(update={"after": 0.0, "for_": None}).to_json()
    arguments = ["inject", "--fault", json.dumps(shown, separators=(",", ":"))]
    if experiment.injector == "iam" and experiment.iam is not None:
        for target in experiment.iam.targets:
            kind = "role" if target.role else "user" if target.user else "group"
            arguments += ["--iam-target", f"{kind}/{target.role or target.user or target.group}"]
        for account in experiment.guardrails.accounts or ():
            arguments += ["--account", account]
    else:
        arguments += ["--endpoint", "${gateway_url}"]
    return [*arguments, "--for", format_duration(seconds)]


def _method(experiment: Experiment, missing: list[Untranslated]) -> tuple[list[dict[str, Any]], int]:
    actions = []
    for index, fault in enumerate(experiment.faults):
        seconds = fault.for_
        if seconds is None and experiment.phases.faults is not None:
            seconds = experiment.phases.faults - fault.after
        if seconds is None:
            missing.append(
                Untranslated(
                    f"faults[{index}]",
                    "a fault that lasts until it is removed",
                    "give it 'for': a Chaos Toolkit action must end for the experiment to go on",
                )
            )
            continue
        pauses: dict[str, float] = {"after": experiment.phases.recovery}
        if fault.after > 0:
            pauses["before"] = fault.after
        actions.append(
            {
                "type": "action",
                "name": f"inject {fault.label}",
                "background": True,
                "provider": {
                    "type": "process",
                    "path": "outage",
                    "arguments": _inject(experiment, fault, seconds),
                    "timeout": round(seconds + _SLACK),
                },
                "pauses": pauses,
            }
        )
    return actions, len(actions)


def _rollbacks(experiment: Experiment) -> list[dict[str, Any]]:
    if experiment.injector == "iam":
        return [
            {
                "type": "action",
                "name": "remove every deny policy of outage in the account",
                "provider": {"type": "process", "path": "outage", "arguments": ["rollback", "--iam"], "timeout": 300},
            }
        ]
    return [
        {
            "type": "action",
            "name": "remove the faults armed in the gateway",
            "provider": {
                "type": "http",
                "url": "${gateway_url}/_chaos/faults",
                "method": "DELETE",
                "headers": {"Content-Type": "application/json"},  # the gateway's control API asks it of changes
                "timeout": 10,
            },
        }
    ]


def _not_carried(experiment: Experiment) -> list[Untranslated]:
    missing = []
    if experiment.app is not None and not experiment.app.running:
        missing.append(
            Untranslated(
                "app",
                "the application's start and stop",
                "Chaos Toolkit starts nothing: start it pointed at the gateway (outage serve) and set APP_URL",
            )
        )
    if experiment.load is not None:
        missing.append(Untranslated("load", "the load", "Chaos Toolkit drives no traffic"))
    judged = [name for name, value in experiment.expect.model_dump(exclude_defaults=True).items() if value]
    if judged:
        missing.append(
            Untranslated(
                "expect",
                ", ".join(judged),
                "judged by outage run from the load and the ledger; Chaos "
                "Toolkit checks the steady-state hypothesis only",
            )
        )
    for index, condition in enumerate(experiment.stop_when):
        missing.append(Untranslated(f"stop_when[{index}]", condition.name, "Chaos Toolkit has no stop conditions"))
    return missing


def to_chaostoolkit(experiment: Experiment, source: str = "<experiment>") -> Exported:
    """The Chaos Toolkit experiment for ``experiment``, and what does not carry over."""
    missing = _not_carried(experiment)
    url = DEFAULT_APP if experiment.app is None else experiment.app.url.replace("{port}", DEFAULT_APP.rsplit(":", 1)[1])
    gateway = experiment.gateway.endpoint if experiment.gateway is not None else DEFAULT_GATEWAY
    configuration = {
        "gateway_url": {"type": "env", "key": "OUTAGE_GATEWAY", "default": gateway},
        "app_url": {"type": "env", "key": "APP_URL", "default": url},
    }
    probes = _probes(experiment.steady_state, missing)
    method, exported = _method(experiment, missing)
    document: dict[str, Any] = {
        "version": "1.0.0",
        "title": experiment.title,
        "description": experiment.description or f"{experiment.title} (exported from {source} by outage export)",
        "tags": ["chaos-outage", *experiment.tags],
        "configuration": configuration,
    }
    if probes:
        document["steady-state-hypothesis"] = {"title": "the steady-state probes pass", "probes": probes}
    document["method"] = method
    document["rollbacks"] = _rollbacks(experiment)
    document["extensions"] = [
        {"name": "chaos-outage", "source": source, "untranslated": [item.to_dict() for item in missing]}
    ]
    return Exported("chaostoolkit", document, tuple(missing), exported)
