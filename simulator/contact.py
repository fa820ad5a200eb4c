"""Who picks up a simulated call: the debtor (80 %), someone else (10 %), nobody of that name (5 %), or an answering
machine (5 %). Half of the accounts carry a ZIP code that the debtor must confirm.

Drawn from the call's own stream (`contact_stream(seed)`), never from the debtor's: the debtor's conversation after
the disclosure is the same whether or not the contact phase ran, so a simulated call and a training episode of the
same seed still meet the same person (the gymnasium env's episodes start after the disclosure).
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np

from agent_runtime.contracts.dst import Intent
from agent_runtime.contracts.guard import GuardRule
from simulator import utterances as say
from simulator.debtor import Reply


class Answerer(StrEnum):
    DEBTOR = "debtor"
    THIRD_PARTY = "third_party"
    WRONG_NUMBER = "wrong_number"
    VOICEMAIL = "voicemail"


ANSWERERS = tuple(Answerer)
ANSWERER_SHARES = (0.80, 0.10, 0.05, 0.05)
ZIP_SHARE = 0.5
CONTACT_STREAM = 1  # the second element of the contact stream's seed

LINES = {
    Answerer.DEBTOR: ("Yes, speaking.", "This is {first}.", "Yeah, that's me.", "Speaking.", "Yes, this is {first}."),
    Answerer.THIRD_PARTY: (
        "{first} isn't home right now. Can I take a message?",
        "This is their roommate. {first} is out at the moment.",
        "They're not here right now, who's calling?",
        "{first} is at work. I'll tell them you called.",
    ),
    Answerer.WRONG_NUMBER: ("You have the wrong number.", "There's no one here by that name.", "Sorry, wrong number."),
    Answerer.VOICEMAIL: (
        "Hi, you've reached {first}. I can't come to the phone right now, please leave a message after the tone.",
        "You have reached the voicemail of {first}. Please leave your name and number.",
    ),
}


def contact_stream(seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, CONTACT_STREAM])


def draw_contact(rng: np.random.Generator) -> tuple[Answerer, str | None]:
    """Who answers, and the ZIP code on file (or None)."""
    answerer = ANSWERERS[int(rng.choice(len(ANSWERERS), p=ANSWERER_SHARES))]
    zip_code = f"{int(rng.integers(10_000, 100_000)):05d}" if rng.random() < ZIP_SHARE else None
    return answerer, zip_code


class PhoneAnswerer:
    """The person (or machine) who answers the phone, until the debtor is reached."""

    def __init__(self, answerer: Answerer, first_name: str, zip_code: str | None, rng: np.random.Generator,
                 stt_noise: float = 0.0):  # fmt: skip
        self.answerer, self.first_name, self.zip_code = answerer, first_name, zip_code
        self.rng, self.stt_noise = rng, stt_noise

    def _line(self, text: str, intent: Intent = Intent.OTHER) -> Reply:
        if self.stt_noise > 0:
            text = say.add_stt_noise(text, self.rng, self.stt_noise)
        return Reply(text, False, intent)

    def reply(self, rule: GuardRule | None) -> Reply:
        """What is said to the opening (rule None), to being asked again, or to the identifier question."""
        if rule is GuardRule.IDENTIFIER_CHECK:  # digit by digit, as people say a ZIP code
            digits = " ".join(self.zip_code or "")
            return self._line(f"It's {digits}." if self.rng.random() < 0.5 else f"Sure, it's {digits}.")
        options = LINES[self.answerer]
        return self._line(options[int(self.rng.integers(len(options)))].format(first=self.first_name))
