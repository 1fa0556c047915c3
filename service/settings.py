"""All settings, read once from the environment (prefix `LUNA_`, nested with `__`).

Example: `LUNA_MONGO__URL=mongodb://127.0.0.1:27017`, `LUNA_AMQP__PREFETCH=200`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class MongoSettings(BaseModel):
    """The MongoDB-protocol server (MongoDB, or FerretDB in local tests)."""

    url: SecretStr = Field(default=SecretStr("mongodb://127.0.0.1:27017"),
                           description="MongoDB-protocol server; credentials inside are secret")
    database: str = Field(default="luna_admin", description="database of every collection")
    max_pool: int = Field(default=20, ge=1, le=500, description="operations in flight at once per process")
    op_timeout_ms: int = Field(default=30000, ge=1000,
                               description="an operation without answer after this long is a transient error")


class AmqpSettings(BaseModel):
    """RabbitMQ."""

    url: SecretStr = Field(default=SecretStr("amqp://guest:guest@127.0.0.1:5672/"),
                           description="RabbitMQ; credentials inside are secret")
    prefetch: int = Field(default=100, ge=1, description="unacked messages per consumer channel")
    concurrency: int = Field(default=16, ge=1, le=256,
                             description="messages of one queue handled at once; one account's commands "
                                         "still one after the other, in publish order")
    delivery_limit: int = Field(default=10, ge=1,
                                description="deliveries before RabbitMQ itself dead-letters a message")
    retry_delays_ms: list[int] = Field(default=[1000, 5000, 30000, 120000], max_length=10,
                                       description="delay before each retry of a transient failure; "
                                                   "after the last, the dead-letter queue")
    shards: int = Field(default=0, ge=0, le=64,
                        description="0: one queue per area; N: N account-hashed single-active-consumer "
                                    "queues for per-account order across worker processes")
    own_shards: list[int] = Field(default_factory=list,
                                  description="shards this worker consumes (empty: all). Single-active-"
                                              "consumer makes the first subscriber of a shard its only "
                                              "consumer, so give workers disjoint sets to share load; "
                                              "overlapping sets make standbys that take over on failure")
    allowed_publishers: list[str] = Field(default_factory=list,
                                          description="AMQP users allowed to publish commands (empty: all)")


class KafkaSettings(BaseModel):
    """Kafka."""

    bootstrap: str = Field(default="127.0.0.1:9092", description="Kafka bootstrap servers")
    partitions: int = Field(default=3, ge=1, description="partitions of the topics the service creates")
    relay_lease_s: float = Field(default=10.0, gt=2.0,
                                 description="a relay that stops renewing is replaced after this long")


class FaceSettings(BaseModel):
    """The face engine (detection, alignment, descriptors) in worker processes."""

    workers: int = Field(default=1, ge=1, description="face worker processes (each holds the dlib models)")


class TaskSettings(BaseModel):
    """Long tasks and their workers."""

    window: int = Field(default=2, ge=1, le=64,
                        description="part messages of one task queued at a time: fairness between tasks")
    slice_s: float = Field(default=2.0, gt=0,
                           description="a GC part works this long, then queues itself behind the others")
    gc_batch: int = Field(default=50, ge=1, le=1000, description="faces a GC part reads at a time")
    concurrency: int = Field(default=2, ge=1, le=64,
                             description="faces of a re-extraction part in flight at once")


class RetentionSettings(BaseModel):
    """How long the effectively-once records are kept (the deduplication window)."""

    inbox_s: int = Field(default=7 * 24 * 3600, ge=60,
                         description="inbox records older than this are deleted: a duplicate arriving "
                                     "later is applied again (with the same ids, so mostly to no effect)")
    outbox_margin_s: int = Field(default=3600, ge=0,
                                 description="sent outbox entries are kept this much longer than inbox "
                                             "records, so a duplicate always finds its stored result")
    every_s: float = Field(default=300.0, gt=0, description="how often the relay role prunes")


class PasswordSettings(BaseModel):
    """argon2id parameters of new password hashes (existing hashes keep theirs and still verify).
    The defaults are argon2-cffi's (RFC 9106, low memory); OWASP's minimum is t=2, 19456 KiB, p=1,
    about a fifth of the CPU per account.create."""

    time_cost: int = Field(default=3, ge=1, le=10, description="argon2id passes over memory")
    memory_kib: int = Field(default=65536, ge=7168, le=1048576, description="argon2id memory, KiB")
    parallelism: int = Field(default=4, ge=1, le=16, description="argon2id lanes (threads)")
    workers: int = Field(default=0, ge=0, le=64,
                         description="hashes at once per process (each uses memory_kib); 0: one per core")
    nice: int = Field(default=10, ge=0, le=19,
                      description="how much lower the hashing threads' CPU priority is than the event loop's")

    def argon2(self) -> dict[str, int]:
        """The hash parameters as argon2-cffi's `PasswordHasher` keyword arguments."""
        return {"time_cost": self.time_cost, "memory_cost": self.memory_kib, "parallelism": self.parallelism}


class HttpSettings(BaseModel):
    """The HTTP port: /metrics (Prometheus), /healthz (liveness), /readyz (readiness)."""

    enabled: bool = Field(default=True, description="serve /metrics, /healthz and /readyz")
    host: str = Field(default="127.0.0.1",
                      description="0.0.0.0 in a container, so probes and scrapes reach it")
    port: int = Field(default=9108, ge=0, le=65535, description="0 picks a free port (tests)")
    sample_s: float = Field(default=5.0, gt=0, description="how often queue depth, outbox lag, DLQ "
                                                            "and task gauges are refreshed")


class LogSettings(BaseModel):
    """Logging: JSON lines by default, console rendering with `json=false`."""

    level: str = Field(default="INFO", description="log level")
    json_lines: bool = Field(default=True, description="JSON lines; false renders for a terminal")


class Settings(BaseSettings):
    """The service's settings."""

    model_config = SettingsConfigDict(env_prefix="LUNA_", env_nested_delimiter="__", frozen=True)

    prefix: str = Field(default="luna-admin", description="prefix of every exchange, queue and topic")
    mongo: MongoSettings = MongoSettings()
    amqp: AmqpSettings = AmqpSettings()
    kafka: KafkaSettings = KafkaSettings()
    faces: FaceSettings = FaceSettings()
    tasks: TaskSettings = TaskSettings()
    http: HttpSettings = HttpSettings()
    retention: RetentionSettings = RetentionSettings()
    passwords: PasswordSettings = PasswordSettings()
    log: LogSettings = LogSettings()
    event_loop: Literal["uvloop", "asyncio"] = Field(
        default="uvloop", description="uvloop (libuv: cheaper sockets and callbacks) or the standard one")
    shutdown_grace_s: float = Field(default=20.0, ge=0,
                                    description="how long in-flight messages may take on SIGTERM")
    grafana_url: str = Field(default="http://127.0.0.1:3000/d/luna-admin-bus",
                             description="where the dashboards of deploy/ are served")

    def public(self) -> dict[str, Any]:
        """The settings with every secret removed (for config.get and logs)."""
        return self.model_dump(mode="json", exclude={"mongo": {"url"}, "amqp": {"url"}})
