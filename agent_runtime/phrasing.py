"""Optional LLM phrasing: an OpenAI-compatible chat model rewords the template's line so that it sounds less canned.

The template stays the source of truth. The rewrite is used only if it arrives within a hard time budget (the
caller is waiting to speak), passes the compliance phrase check, and keeps every figure of the template (amounts,
counts and dates may not be misstated); otherwise the template's text is spoken. Guard answers (cease, dispute,
validation notice, closings) are legal wording and are never rewritten; see `PolicyLLM`.

Settings (agent_runtime.settings): NLG_LLM_MODEL turns phrasing on; NLG_LLM_BASE_URL (any OpenAI-compatible server,
default the OpenAI API); NLG_LLM_BUDGET_MS (default 300); the key is OPENAI_API_KEY.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass

from livekit.agents import APIConnectOptions, APIError, llm

from agent_runtime.compliance import forbidden_phrases_in
from agent_runtime.settings import Settings

log = logging.getLogger("agent_runtime.phrasing")

DEFAULT_BUDGET_MS = 300
INSTRUCTIONS = (
    "You reword one line that a debt collector is about to say on the phone so that it sounds natural, warm and "
    "brief. Keep its meaning and every name, amount, number and date exactly as written. Do not add facts, "
    "consequences, threats or promises. Answer with the reworded line only."
)
# "$1,200", "400", "3", "15": figures the rewrite must repeat verbatim
_FIGURE = re.compile(r"\$?\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class Phrasing:
    text: str
    rewritten: bool  # False: the template's text, for `reason`
    reason: str
    seconds: float


def rewrite_problem(template: str, rewritten: str) -> str | None:
    """Why the rewrite may not be spoken instead of the template, or None if it may."""
    if not rewritten:
        return "empty rewrite"
    if forbidden := forbidden_phrases_in(rewritten):
        return f"forbidden phrases {forbidden}"
    if missing := sorted(set(_FIGURE.findall(template)) - set(_FIGURE.findall(rewritten))):
        return f"figures {missing} missing"
    return None


class LLMPhrasing:
    def __init__(self, model: llm.LLM, budget_ms: float = DEFAULT_BUDGET_MS):
        self.model, self.budget_s = model, budget_ms / 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMPhrasing | None:
        """None unless NLG_LLM_MODEL is set."""
        if not settings.nlg_llm_model:
            return None
        from livekit.plugins import openai

        options = {"api_key": settings.openai_api_key.get_secret_value()} if settings.openai_api_key else {}
        if settings.nlg_llm_base_url:
            options["base_url"] = settings.nlg_llm_base_url
        return cls(openai.LLM(model=settings.nlg_llm_model, **options), settings.nlg_llm_budget_ms)

    async def phrase(self, template: str) -> Phrasing:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.budget_s):
                rewritten = await self._complete(template)
            problem = rewrite_problem(template, rewritten)
        except TimeoutError:
            problem = f"over the {self.budget_s * 1000:.0f} ms budget"
        except Exception as exc:  # phrasing is optional: no failure of it may cost the caller an answer
            problem = f"{type(exc).__name__}: {exc.message if isinstance(exc, APIError) else exc}"
        seconds = time.perf_counter() - started
        if problem is None:
            log.info("LLM phrasing used (%.0f ms)", seconds * 1000)
            return Phrasing(rewritten, True, "rewritten", seconds)
        log.info("template wording kept: %s (%.0f ms)", problem, seconds * 1000)
        return Phrasing(template, False, problem, seconds)

    async def _complete(self, template: str) -> str:
        context = llm.ChatContext()
        context.add_message(role="system", content=INSTRUCTIONS)
        context.add_message(role="user", content=template)
        # no retries: a second attempt could never fit in the budget
        options = APIConnectOptions(max_retry=0, timeout=self.budget_s)
        async with self.model.chat(chat_ctx=context, conn_options=options) as stream:
            parts = [chunk.delta.content async for chunk in stream if chunk.delta and chunk.delta.content]
        return "".join(parts).strip()

    async def aclose(self) -> None:
        await self.model.aclose()
