"""Every setting of the system, in one typed object read from the environment (pydantic-settings).

This is the only module that reads environment variables. Entry points build one `Settings` at start (a bad value
fails there, with the variable's name, never mid-call) and hand what each part needs down to it.
`python -m agent_runtime settings` prints the effective values with secrets masked; the README's settings table
lists the same fields.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from agent_runtime.events.mqtt import MqttSettings
    from agent_runtime.events.privacy import EventProtector
    from agent_runtime.exploration import Exploration

from agent_runtime.contracts.facts import CallFacts
from agent_runtime.policy_source import DEFAULT_POLICY

BACKENDS = {"stt_backend": ("whisper", "openai"), "tts_backend": ("espeak", "piper", "openai")}


class Settings(BaseSettings):
    """Field `x` is read from the environment variable `X`."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    # The LiveKit server (dev, start); the livekit-agents CLI reads the same three variables.
    livekit_url: str | None = Field(None, description="LiveKit server URL (ws:// or wss://) for dev and start")
    livekit_api_key: str | None = Field(None, description="LiveKit API key")
    livekit_api_secret: SecretStr | None = Field(None, description="LiveKit API secret")
    sip_trunk_id: str | None = Field(None, description="outbound SIP trunk `dispatch` dials through (LiveKit SIP)")
    # The call
    policy_checkpoint: str = Field(
        DEFAULT_POLICY, description="the policy spec: a checkpoint, CHECKPOINT@PLANNER, scripted:NAME, constant:NAME"
    )
    explore_epsilon: float = Field(
        0.05, ge=0.0, le=0.5, description="share of live turns that explore (bounded: agent_runtime.exploration)"
    )
    explore_margin: float = Field(0.5, ge=0.0, description="explore only among actions valued within this of the best")
    call_facts: CallFacts | None = Field(
        None, description="call facts as JSON for a job without metadata (console needs it)"
    )
    # Events
    events_db: Path = Field(Path("data/outbox.db"), description="the SQLite outbox every event is committed to first")
    events_mqtt_url: str | None = Field(None, description="publish events to this broker (mqtt:// or mqtts://)")
    mqtt_username: str | None = Field(None, description="MQTT user name")
    mqtt_password: SecretStr | None = Field(None, description="MQTT password")
    mqtt_ca_file: Path | None = Field(None, description="CA certificate for mqtts:// brokers with a private CA")
    events_redaction: bool = Field(
        True, description="mask personal data in stored texts; false keeps them in clear (consented recordings only)"
    )
    events_identity_key: SecretStr | None = Field(
        None, min_length=16, description="key of the debtor's keyed reference in stored events (else one per process)"
    )
    events_signing_key: SecretStr | None = Field(
        None, min_length=16, description="HMAC key producers sign events with; the recorder requires it"
    )
    database_url: SecretStr | None = Field(
        None,
        description="the recorder's central store in PostgreSQL (postgresql://USER:PASSWORD@HOST/DB), else --db",
    )
    # Speech
    stt_backend: str = Field("whisper", description="whisper (local tiny.en) or openai")
    tts_backend: str = Field("espeak", description="espeak (local), piper (local, needs the piper extra) or openai")
    agent_voice: str = Field("en-us", description="espeak-ng voice: the agent's voice, and the fallback of any other")
    openai_api_key: SecretStr | None = Field(None, description="needed when any OpenAI option is on")
    openai_base_url: str | None = Field(None, description="an OpenAI-compatible server for STT and TTS")
    openai_stt_model: str = Field("gpt-4o-mini-transcribe", description="OpenAI transcription model")
    openai_tts_model: str = Field("gpt-4o-mini-tts", description="OpenAI speech model")
    openai_tts_voice: str = Field("ash", description="OpenAI voice")
    # Wording
    nlg_llm_model: str | None = Field(None, description="turns on LLM phrasing of the template's line")
    nlg_llm_base_url: str | None = Field(None, description="OpenAI-compatible chat server for phrasing")
    nlg_llm_budget_ms: float = Field(300.0, description="phrasing time budget; the template is spoken after it")
    # Monitoring
    metrics_port: int | None = Field(None, ge=1, le=65535, description="the worker serves /metrics on this port")
    prometheus_multiproc_dir: Path | None = Field(
        None, description="where worker processes share metrics (default with METRICS_PORT: a folder under /tmp)"
    )
    # The web console
    console_token: SecretStr | None = Field(
        None, description="required by `web` on a non-loopback address; every request must carry it"
    )
    console_max_sessions: int = Field(4, ge=1, le=64, description="browser tabs the web console serves at once")
    drain_seconds: int = Field(
        60, ge=0, le=3600, description="on SIGTERM the worker and the console let calls finish this long, then end them"
    )
    # Training
    pushgateway_url: str | None = Field(None, description="trainers push their metrics to this Pushgateway")
    grafana_token: SecretStr | None = Field(None, description="API token for `telemetry.dashboards push`")

    @field_validator("stt_backend", "tts_backend")
    @classmethod
    def _known_backend(cls, value: str, info: ValidationInfo) -> str:
        choices = BACKENDS[info.field_name]
        if value not in choices:
            raise ValueError(f"{value!r}: choose one of {', '.join(choices)}")
        return value

    @field_validator("events_mqtt_url")
    @classmethod
    def _broker_url(cls, value: str | None) -> str | None:
        if value is not None:
            from agent_runtime.events.mqtt import MqttSettings

            MqttSettings.from_url(value)  # the scheme, and no password in the URL
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("a postgresql:// URL")  # never the value: it may hold a password
        return value

    @field_validator("nlg_llm_budget_ms", mode="before")
    @classmethod
    def _positive_budget(cls, value: object) -> float:
        try:
            budget = float(value)
        except (TypeError, ValueError):
            budget = 0.0
        if not budget > 0:
            raise ValueError(f"{value!r}: a positive number of milliseconds")
        return budget

    @model_validator(mode="after")
    def _openai_needs_a_key(self) -> Settings:
        uses_openai = "openai" in (self.stt_backend, self.tts_backend) or self.nlg_llm_model
        if uses_openai and self.openai_api_key is None:
            raise ValueError("an OpenAI option is on (STT_BACKEND, TTS_BACKEND or NLG_LLM_MODEL): set OPENAI_API_KEY")
        return self

    def exploration(self) -> Exploration:
        from agent_runtime.exploration import Exploration

        return Exploration(self.explore_epsilon, self.explore_margin)

    def signing_key(self) -> bytes | None:
        return self.events_signing_key.get_secret_value().encode() if self.events_signing_key else None

    def identity_key(self) -> bytes | None:
        return self.events_identity_key.get_secret_value().encode() if self.events_identity_key else None

    def event_protector(self) -> EventProtector:
        """How this process protects the events it stores (agent_runtime.events.privacy)."""
        from agent_runtime.events.privacy import EventProtector

        return EventProtector(self.identity_key(), redact_text=self.events_redaction)

    def central_store(self) -> str | Path:
        """Where the recorder keeps every call: DATABASE_URL, else this process's own EVENTS_DB."""
        return self.database_url.get_secret_value() if self.database_url else self.events_db

    def mqtt(self, url: str) -> MqttSettings:
        """A broker URL with these settings' credentials and CA."""
        from agent_runtime.events.mqtt import MqttSettings

        password = self.mqtt_password.get_secret_value() if self.mqtt_password else None
        ca_file = str(self.mqtt_ca_file) if self.mqtt_ca_file else None
        return MqttSettings.from_url(url, username=self.mqtt_username, password=password, ca_file=ca_file)

    def masked(self) -> dict[str, str]:
        """Every setting by its environment variable, secrets shown as ****** (or unset)."""
        shown = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "******"
            elif isinstance(value, CallFacts):
                value = value.model_dump_json()
            shown[name.upper()] = "(unset)" if value is None else str(value)
        return shown


class SettingsError(ValueError):
    pass


def load_settings(**overrides) -> Settings:
    """The settings from the environment (and `overrides`); a bad value raises SettingsError naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            variable = ".".join(str(part) for part in error["loc"]).upper()
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{variable}: {message}" if variable else message)
        raise SettingsError("; ".join(problems)) from None


def environment_for_child(*, without: tuple[str, ...] = (), **values: str) -> dict[str, str]:
    """This process's environment for a child process (a benchmark's recorder, say): the variables whose names start
    with one of `without` left out, `values` added."""
    return {name: value for name, value in os.environ.items() if not name.startswith(without)} | values


FIELDS: tuple[tuple[str, str, str], ...] = tuple(
    (name.upper(), "(unset)" if field.default is None else str(field.default), field.description or "")
    for name, field in Settings.model_fields.items()
)
"""(variable, default, what it does) of every setting, for the README table and `settings --table`."""
