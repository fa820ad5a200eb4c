"""The dialogue engine as a LiveKit `llm.LLM`: the pipeline only generates replies through an LLM object, so the
policy (via `CallController`) stands in for one. Each reply is keyed on the last user message's id, so a turn that
LiveKit generates twice (preemptive generation) updates the dialogue state once. With `phrasing`, an LLM may reword
a strategy's line within its time budget (agent_runtime.phrasing); guard answers are legal wording and stay verbatim.
"""

from __future__ import annotations

from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, llm, utils

from agent_runtime.call import CallController
from agent_runtime.phrasing import LLMPhrasing


class PolicyLLM(llm.LLM):
    def __init__(self, call: CallController, phrasing: LLMPhrasing | None = None):
        super().__init__()
        self.call, self.phrasing = call, phrasing

    @property
    def model(self) -> str:
        return f"rl-policy:{self.call.policy_version}"

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
        reply = await self._llm.call.respond(message.text_content or "", message.id)
        text = reply.text
        if self._llm.phrasing is not None and reply.event.guard_rule is None and text:
            text = (await self._llm.phrasing.phrase(text)).text
        self._event_ch.send_nowait(
            llm.ChatChunk(id=utils.shortuuid("pol_"), delta=llm.ChoiceDelta(role="assistant", content=text))
        )
