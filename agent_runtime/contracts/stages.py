"""Latency stages of a voice turn. Metric labels and the events' latency maps use these names and no others."""

from enum import StrEnum


class LatencyStage(StrEnum):
    ENDPOINTING = "endpointing"  # last speech sample -> end of turn decided
    STT = "stt"  # end of turn -> final transcript
    DST = "dst"
    POLICY = "policy"
    NLG = "nlg"
    ENGINE = "engine"  # DST + policy + guard + NLG together
    TTS_FIRST_BYTE = "tts_first_byte"
    E2E = "e2e"  # last debtor speech sample -> first agent audio sample


LATENCY_STAGES: tuple[LatencyStage, ...] = tuple(LatencyStage)
