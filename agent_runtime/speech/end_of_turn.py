"""End-of-turn detection: answer a finished sentence sooner, wait on one the debtor has paused inside.

livekit-agents ends a turn `min_delay` after the last speech when its turn detector finds the turn likely over, and
`max_delay` (the cap on the longest wait) when the detector's probability falls under its `unlikely_threshold`.
Two offline detectors plug into that rule:

- `TextCueTurnDetector` reads the recogniser's transcript of the turn so far. Whisper writes in one of two styles:
  mostly sentence case, where it closes a sentence spoken to its end with ".", "?" or "!", marks speech that trails
  off with "..." and a word cut short with "-" ("I'll pay the f-"); sometimes all lower case without punctuation. A
  transcript in sentence case without a closing mark, or one that trails off, is unfinished. So is one that ends,
  even with a full stop, where no sentence can end: on a conjunction ("and", "but", "because"), a preposition, an
  article, a subject pronoun, a pronoun-verb contraction ("I'm", "we'll") or a filler ("um"). A question is
  finished. Elliptical answers that end on an auxiliary ("yes I can", "I don't") or on a particle ("hold on") are
  complete English, so those words are not cues. The price: Whisper leaves the full stop off some complete sentences
  ("No thanks"), and those wait for the cap (`benchmarks/end_of_turn.py` counts them in the DST's transcripts).
- `audio_turn_detector()`: livekit's `v1-mini` audio model (livekit-local-inference, weights inside the wheel, run
  in process). The version is passed explicitly: left to choose, livekit picks its cloud model when LiveKit
  credentials are set. Its weights are under the LiveKit Model License: free to use, but only together with the
  LiveKit Agents framework, never on their own or with another framework. It needs the VAD's
  `min_silence_duration` >= 0.25 s (livekit checks), because it predicts after 0.2 s of silence.

`benchmarks/end_of_turn.py` measures both, and their combination, on paused and complete utterances.
"""

from __future__ import annotations

import re

from livekit.agents import inference, llm
from livekit.agents.language import LanguageCode

# Words no English sentence ends on. Left out on purpose: auxiliaries and negations ("I can", "I won't"), object
# pronouns ("tell her"), particles ("hold on", "log in"), and "that", "this", "some", "any" (all can end a sentence).
CONJUNCTIONS = {"and", "but", "or", "nor", "because", "cause", "cuz", "if", "when", "since", "unless", "until",
                "although", "while", "whereas", "whether", "than", "so"}  # fmt: skip
PREPOSITIONS = {"to", "of", "for", "with", "at", "from", "by", "about", "into", "onto", "like", "as"}
DETERMINERS = {"the", "a", "an", "my", "your", "our", "their", "every"}
SUBJECT_PRONOUNS = {"i", "we", "they", "he", "she"}
FILLERS = {"um", "uh", "er", "erm", "uhm"}
MODIFIERS = {"just", "very", "gonna", "wanna", "gotta"}
UNFINISHED_ENDINGS = CONJUNCTIONS | PREPOSITIONS | DETERMINERS | SUBJECT_PRONOUNS | FILLERS | MODIFIERS
# "so" closes a sentence after these verbs ("I think so")
SO_COMPLETES = {"think", "guess", "hope", "suppose", "believe", "said", "told", "do"}
# a pronoun fused with its verb ("I'm", "we'll", "that's") always has more to come
CONTRACTION = re.compile(r"^(i|you|we|they|he|she|it|that|there|what|let)'(m|re|ve|ll|d|s)$")
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")  # numbers are words: "it's 5 4 9 7 3" ends on "3", not on "it's"
CLOSED = re.compile(r"[.?!][\"')\]]*$")
TRAILING_OFF = re.compile(r"(\.\.\.|\u2026|-)[\"')\]]*$")

FINISHED_PROBABILITY = 0.95
UNFINISHED_PROBABILITY = 0.05
UNLIKELY_THRESHOLD = 0.5


def sounds_unfinished(transcript: str) -> bool:
    """Whether the transcript is of a sentence not yet finished (see the module notes)."""
    said = transcript.strip()
    text = said.lower().replace("\u2019", "'")
    words = WORD.findall(text)
    if not words or text.endswith("?"):
        return False
    if TRAILING_OFF.search(text) or (said[0].isupper() and not CLOSED.search(text)):
        return True
    last = words[-1]
    if last == "so" and len(words) > 1 and words[-2] in SO_COMPLETES:
        return False
    return last in UNFINISHED_ENDINGS or CONTRACTION.match(last) is not None


def end_of_turn_probability(transcript: str) -> float:
    return UNFINISHED_PROBABILITY if sounds_unfinished(transcript) else FINISHED_PROBABILITY


class TextCueTurnDetector:
    """livekit's text turn-detector interface (`predict_end_of_turn` on the chat so far) over `sounds_unfinished`:
    the session reads the transcript of the debtor's current turn as the last user message."""

    @property
    def model(self) -> str:
        return "text-cues"

    @property
    def provider(self) -> str:
        return "local"

    async def unlikely_threshold(self, language: LanguageCode | None) -> float | None:
        return UNLIKELY_THRESHOLD

    async def supports_language(self, language: LanguageCode | None) -> bool:
        return language is None or LanguageCode(language).language == "en"

    async def predict_end_of_turn(self, chat_ctx: llm.ChatContext, *, timeout: float | None = None) -> float:
        said = next((m.text_content for m in reversed(chat_ctx.messages()) if m.role == "user"), None)
        return end_of_turn_probability(said or "")


def audio_turn_detector() -> inference.TurnDetector:
    """livekit's offline `v1-mini` audio end-of-turn model, never the cloud one (LiveKit Model License: use only
    together with LiveKit Agents)."""
    return inference.TurnDetector(version="v1-mini")
