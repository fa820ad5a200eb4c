"""The dialogue engine as a LiveKit `llm.LLM`: the pipeline only generates replies through an LLM object, so the
policy (via `CallController`) stands in for one; agent_runtime.voice builds the session around it. Each reply is
keyed on the last user message's id, so a turn that LiveKit generates twice (preemptive generation) updates the
dialogue state once. LLM phrasing, where configured, happens inside the call (`CallController.phrasing`), so the
logged turn holds the words actually spoken.
"""

from __future__ import annotations

from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, llm, utils

from agent_runtime.call import CallController
from agent_runtime.contracts.stages import LatencyStage


class PolicyLLM(llm.LLM):
    def __init__(self, call: CallController, recogniser=None):
        """`recogniser`: the session's STT, whose `last_seconds` and `last_confidence` (where it has them, as the
        local tiny.en does) are the recognition time and confidence of the utterance being answered."""
        super().__init__()
        self.call, self.recogniser = call, recogniser

    def user_stages(self, message: llm.ChatMessage) -> dict[LatencyStage, float]:
        """The stages of the debtor's turn, measured before the reply: the turn event records them."""
        stages = {}
        if (seconds := (message.metrics or {}).get("end_of_turn_delay")) is not None:
            stages[LatencyStage.ENDPOINTING] = seconds * 1000
        if (seconds := getattr(self.recogniser, "last_seconds", None)) is not None:
            stages[LatencyStage.STT] = seconds * 1000
        return stages

    @property
    def model(self) -> str:
        return f"rl-policy:{self.call.policy.version}"

    @property
    def provider(self) -> str:
        return "debt-agent"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools=None,
        conn_options=DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls=NOT_GIVEN,
        tool_choice=NOT_GIVEN,
        extra_kwargs=NOT_GIVEN,
    ) -> PolicyStream:
        return PolicyStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)


class PolicyStream(llm.LLMStream):
    async def _run(self) -> None:
        users = [m for m in self.chat_ctx.messages() if m.role == "user"]
        if not users:
            return
        message = users[-1]
        reply = await self._llm.call.respond(
            message.text_content or "",
            message.id,
            latencies_ms=self._llm.user_stages(message),
            stt_confidence=getattr(self._llm.recogniser, "last_confidence", None),
        )
        if reply.text:  # a call that has ended answers nothing (the session is closing)
            self._event_ch.send_nowait(
                llm.ChatChunk(id=utils.shortuuid("pol_"), delta=llm.ChoiceDelta(role="assistant", content=reply.text))
            )
