"""Every exchange, queue, routing key and topic name, derived from one prefix.

The prefix is `luna-admin` in production; tests pass their own so that each test has its own
queues and topics on the shared servers.
"""

from __future__ import annotations

from dataclasses import dataclass

# Which queue (area) takes which command types: the routing-key patterns bound to it.
AREAS: dict[str, tuple[str, ...]] = {
    "accounts": ("account.*",),
    "tokens": ("token.*",),
    "lists": ("list.*",),
    "persons": ("person.*",),
    "faces": ("face.*",),
    "tasks": ("task.*", "task.*.*"),
    "service": ("search", "stats.*", "version.*", "config.*", "grafana.*", "dlq.*"),
}


@dataclass(frozen=True)
class Topology:
    """Names on RabbitMQ and Kafka for one deployment (or one test)."""

    prefix: str = "luna-admin"

    @property
    def commands_exchange(self) -> str:
        return f"{self.prefix}.commands"

    @property
    def unrouted_exchange(self) -> str:
        """Alternate exchange: a command whose type matches no binding lands here, not nowhere."""
        return f"{self.prefix}.unrouted"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.prefix}.dead-letter"

    @property
    def hash_exchange(self) -> str:
        """Consistent-hash exchange behind the commands exchange (sharded mode): hashes on the
        `account_id` header so each account's commands stay on one shard queue, in order."""
        return f"{self.prefix}.commands.by-account"

    def shard_queue(self, index: int) -> str:
        return f"{self.prefix}.shard.{index}"

    def retry_exchange(self, attempt: int) -> str:
        """Fanout exchange in front of the delay queue of the `attempt`-th retry."""
        return f"{self.prefix}.retry.{attempt}"

    def retry_queue(self, attempt: int) -> str:
        """Holds a failed command for the attempt's delay, then dead-letters it back to the
        commands exchange with its original routing key."""
        return f"{self.prefix}.retry.{attempt}"

    def queue(self, area: str) -> str:
        return f"{self.prefix}.{area}"

    @property
    def command_queues(self) -> list[str]:
        return [self.queue(area) for area in AREAS] + [self.unrouted_queue]

    @property
    def unrouted_queue(self) -> str:
        return f"{self.prefix}.unrouted"

    @property
    def task_parts_queue(self) -> str:
        """Internal: the parts of long tasks, consumed by task workers (not for publishers)."""
        return f"{self.prefix}.task-parts"

    @property
    def parking_queue(self) -> str:
        """Permanently rejected raw messages, kept with their reason in headers."""
        return f"{self.prefix}.parking"

    @property
    def dead_letter_queue(self) -> str:
        """Messages that failed transiently more times than the delivery limit allows."""
        return f"{self.prefix}.dlq"

    @property
    def results_topic(self) -> str:
        return f"{self.prefix}.results"

    @property
    def events_topic(self) -> str:
        return f"{self.prefix}.events"

    @property
    def task_progress_topic(self) -> str:
        return f"{self.prefix}.task-progress"

    @property
    def topics(self) -> list[str]:
        return [self.results_topic, self.events_topic, self.task_progress_topic]

    def topic(self, stream: str) -> str:
        """The Kafka topic of a logical stream name stored in the outbox."""
        return {"results": self.results_topic, "events": self.events_topic,
                "task-progress": self.task_progress_topic}[stream]
