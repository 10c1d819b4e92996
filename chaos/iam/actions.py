"""From botocore operations to the IAM actions a deny policy names to make them fail.

The mapping is AWS's own: the Service Authorization Reference, in its machine-readable form,
lists for each API operation the IAM actions that authorise it. A copy trimmed to botocore
service -> operation -> actions ships in ``chaos/iam/data/`` (its README says where it comes
from, of when, and how to refresh it).

AWS lists every action an operation may need, also those only some requests need
(``s3:PutObjectTagging`` for a PutObject with tags, ``s3-object-lambda:GetObject`` through an
Object Lambda access point). A deny policy that reproduces an outage names the operation's
*primary* action, the one AWS checks on every call: denying it fails every call, while denying
the others as well would fail other operations that need them. The primary action is, in order:

1. the documented choice of :mod:`chaos.iam.overrides`, where AWS's list does not say by itself;
2. the action named like the operation under the service's own prefix (``s3:GetObject``);
3. the only action listed under the service's own prefix (Lambda ``Invoke`` ->
   ``lambda:InvokeFunction``, SQS ``SendMessageBatch`` -> ``sqs:SendMessage``);
4. the action named like the operation under another prefix (MSK ``CreateTopic`` ->
   ``kafka-cluster:CreateTopic``).

The service's own prefix is the one most of its operations' same-named actions use (``es`` for
opensearch, ``states`` for stepfunctions; ``cloudwatch`` for cloudwatch, which signs as
``monitoring``). Anything else raises :class:`~chaos.errors.ConfigError`: an operation AWS does
not list, one it lists with no action, one with several candidates and none its own, an action
AWS does not define. Never a guess: a deny naming an action that does not exist denies nothing.

Calls that AWS authorises with a different action altogether are not denied by the primary
action: a GetObject of a given version needs ``s3:GetObjectVersion``, not ``s3:GetObject``.
"""

from __future__ import annotations

import collections
import functools
import gzip
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from chaos.errors import ConfigError
from chaos.iam.overrides import OVERRIDES, Override

__all__ = ["ActionMapping", "iam_actions", "iam_prefix", "mapping", "service_actions"]

DATA = "operation_actions.json.gz"
_ADVICE = "remove it from the fault's operations, or use the hook or gateway injector"


class ActionMapping:
    """AWS's operation -> action lists, and the rule that picks what a deny policy names."""

    def __init__(
        self,
        operations: Mapping[str, Mapping[str, tuple[str, ...]]],
        listed_under: Mapping[str, tuple[str, ...]],
        defined: Mapping[str, frozenset[str]],
        source: Mapping[str, str],
        overrides: Mapping[tuple[str, str], Override],
    ) -> None:
        self.operations = operations
        """botocore service -> operation -> every action AWS lists as authorising it."""
        self.listed_under = listed_under
        """botocore service -> the IAM prefixes whose reference lists its operations."""
        self.source = source
        """Where the data comes from: name, url, retrieved_from, commit, date, licence."""
        self.overrides = overrides
        # IAM action names are case-insensitive; keep AWS's spelling to render them.
        self._defined = {prefix: {name.lower(): name for name in names} for prefix, names in defined.items()}
        self._prefixes: dict[str, str | None] = {}

    @classmethod
    def from_document(
        cls, document: Mapping[str, Any], overrides: Mapping[tuple[str, str], Override] | None = None
    ) -> ActionMapping:
        """From the JSON document that ``scripts/refresh_iam_actions.py`` writes."""
        services = document["services"]
        return cls(
            operations={
                service: {name: tuple(found) for name, found in entry["operations"].items()}
                for service, entry in services.items()
            },
            listed_under={service: tuple(entry["listed_under"]) for service, entry in services.items()},
            defined={prefix: frozenset(names) for prefix, names in document["actions"].items()},
            source={key: str(value) for key, value in document["source"].items()},
            overrides=OVERRIDES if overrides is None else overrides,
        )

    def defined_actions(self, prefix: str) -> list[str]:
        """Every action AWS's reference defines under ``prefix``, in AWS's spelling."""
        return sorted(self._defined.get(prefix, {}).values())

    def defines(self, action: str) -> bool:
        """Whether AWS's reference defines ``prefix:Name`` (case-insensitively, as IAM does)."""
        return self._canonical(action) is not None

    def _canonical(self, action: str) -> str | None:
        prefix, _, name = action.partition(":")
        spelled = self._defined.get(prefix, {}).get(name.lower())
        return None if spelled is None else f"{prefix}:{spelled}"

    def _own_prefix(self, service: str) -> str | None:
        if service not in self._prefixes:
            named: collections.Counter[str] = collections.Counter()
            listed: collections.Counter[str] = collections.Counter()
            for operation, found in self.operations.get(service, {}).items():
                for action in found:
                    prefix, _, name = action.partition(":")
                    listed[prefix] += 1
                    if name.lower() == operation.lower():
                        named[prefix] += 1
            votes = named or listed or collections.Counter(self.listed_under.get(service, ()))
            # Most votes first, then the alphabet: the same answer on every run.
            ranked = sorted(votes.items(), key=lambda item: (-item[1], item[0]))
            self._prefixes[service] = ranked[0][0] if ranked else None
        return self._prefixes[service]

    def iam_prefix(self, service: str) -> str:
        """The IAM prefix of a botocore service (``cloudwatch`` for cloudwatch, ``es`` for opensearch)."""
        prefix = self._own_prefix(service)
        if prefix is None:
            raise ConfigError(
                f"no known IAM prefix for service {service}: AWS's Service Authorization Reference "
                f"({self._as_of()}) does not list it; use the hook or gateway injector"
            )
        return prefix

    def _as_of(self) -> str:
        return f"as vendored, of {self.source.get('date', 'unknown date')[:10]}"

    def iam_actions(self, service: str, operation: str) -> tuple[str, ...]:
        """The actions a deny names so that every call of ``operation`` fails (see the module's rule).

        Raises :class:`~chaos.errors.ConfigError`, saying why and what to do, when there is no known
        mapping.
        """
        override = self.overrides.get((service, operation))
        if override is not None:
            return override.actions
        listed = self.operations.get(service, {}).get(operation)
        where = f"no known IAM mapping for {service} operation {operation}"
        if listed is None:
            reason = f"AWS's Service Authorization Reference ({self._as_of()}) does not list it"
            raise ConfigError(f"{where}: {reason}; {_ADVICE}")
        if not listed:
            reason = "AWS's Service Authorization Reference lists no IAM action that authorises it"
            raise ConfigError(f"{where}: {reason}; {_ADVICE}")
        own = self.iam_prefix(service)
        named = [action for action in listed if action.partition(":")[2].lower() == operation.lower()]
        under_own = [action for action in listed if action.partition(":")[0] == own]
        chosen = (
            [action for action in named if action.partition(":")[0] == own]
            or (under_own if len(under_own) == 1 else [])
            or named
        )
        if not chosen:
            reason = (
                f"AWS's Service Authorization Reference lists {', '.join(sorted(listed))} for it "
                "and none of them is the operation's own"
            )
            raise ConfigError(f"{where}: {reason}; {_ADVICE}")
        rendered = []
        for action in sorted(set(chosen)):
            spelled = self._canonical(action)
            if spelled is None:
                reason = f"AWS's Service Authorization Reference names {action}, which it does not define"
                raise ConfigError(f"{where}: {reason}; {_ADVICE}")
            rendered.append(spelled)
        return tuple(rendered)

    def service_actions(self, service: str) -> tuple[str, ...]:
        """What a deny names to fail every operation of ``service``: ``prefix:*``, and the few
        operations authorised under another prefix (MSK's topic operations: ``kafka-cluster:...``)."""
        prefix = self.iam_prefix(service)
        elsewhere: set[str] = set()
        for operation in self.operations.get(service, {}):
            try:
                actions = self.iam_actions(service, operation)
            except ConfigError:
                continue
            elsewhere.update(action for action in actions if action.partition(":")[0] != prefix)
        return (f"{prefix}:*", *sorted(elsewhere))


@functools.cache
def mapping() -> ActionMapping:
    """The mapping that ships with the package (read once per process)."""
    raw = resources.files("chaos.iam").joinpath("data").joinpath(DATA).read_bytes()
    return ActionMapping.from_document(json.loads(gzip.decompress(raw)))


def iam_prefix(service: str) -> str:
    """The IAM prefix of a botocore service, from AWS's reference (``cloudwatch`` signs as ``monitoring``)."""
    return mapping().iam_prefix(service)


def iam_actions(service: str, operation: str) -> tuple[str, ...]:
    """``("s3:GetObject",)`` for (s3, GetObject), ``("lambda:InvokeFunction",)`` for (lambda, Invoke).

    Raises :class:`~chaos.errors.ConfigError` when there is no known mapping: never a guess.
    """
    return mapping().iam_actions(service, operation)


def service_actions(service: str) -> tuple[str, ...]:
    """``("s3:*",)`` for s3: what a deny names to fail every operation of a service."""
    return mapping().service_actions(service)
