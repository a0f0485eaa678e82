"""Which secrets are sensitive, judged by their tags as they were at each moment of the log.

A rule is `KEY=VALUE` (value compared case-insensitively) or `KEY` (any value); by default
`sensitivity=high`, or `classification` one of confidential, restricted or secret. A read is
judged by the tags its secret had when the call was made: a secret tagged sensitive after
the fact does not make earlier reads sensitive, and untagging it does not hide them.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.events import SecretCreated, TagsChanged


@dataclass(frozen=True)
class SensitiveRule:
    key: str
    value: str | None = None  # None: any value

    @classmethod
    def parse(cls, text: str) -> SensitiveRule:
        key, sep, value = text.partition("=")
        if not key:
            raise ValueError(f"a sensitive-tag rule is KEY or KEY=VALUE, not {text!r}")
        return cls(key, value if sep else None)

    def matches(self, tags: Mapping[str, str]) -> bool:
        if self.key not in tags:
            return False
        return self.value is None or tags[self.key].casefold() == self.value.casefold()

    def __str__(self) -> str:
        return self.key if self.value is None else f"{self.key}={self.value}"


DEFAULT_RULES = (SensitiveRule("sensitivity", "high"),
                 SensitiveRule("classification", "confidential"),
                 SensitiveRule("classification", "restricted"),
                 SensitiveRule("classification", "secret"))


class TagsOverTime:
    """Each secret's tags as the log's SecretCreated and TagsChanged events are applied, in
    log order, and which secrets were sensitive while a period was watched."""

    def __init__(self, rules: Sequence[SensitiveRule]) -> None:
        self.rules = list(rules)
        self._arns: dict[Any, str] = {}  # secret id -> ARN
        self._tags: dict[str, dict[str, str]] = {}  # ARN -> tags now
        self.ever_sensitive: set[str] = set()  # ARNs sensitive at some watched moment
        self._watching = False

    def apply(self, event: Any) -> None:
        if isinstance(event, SecretCreated):
            arn = self._arns[event.originator_id] = event.arn
            self._tags[arn] = {key: value for key, value in event.tags}
        elif isinstance(event, TagsChanged) and event.originator_id in self._arns:
            arn = self._arns[event.originator_id]
            tags = {**self._tags.get(arn, {}), **{key: value for key, value in event.added}}
            self._tags[arn] = {k: v for k, v in tags.items() if k not in event.removed}
        else:
            return
        if self._watching and self.sensitive(arn):
            self.ever_sensitive.add(arn)

    def watch(self) -> None:
        """From now on (the period's start), note every secret that is or becomes sensitive."""
        if not self._watching:
            self._watching = True
            self.ever_sensitive |= {arn for arn in self._tags if self.sensitive(arn)}

    def sensitive(self, arn: str) -> bool:
        tags = self._tags.get(arn, {})
        return any(rule.matches(tags) for rule in self.rules)
