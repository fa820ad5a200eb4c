"""What simulated debtors say: varied wording by persona, intent and mood, with optional STT-style noise."""

from __future__ import annotations

import numpy as np
from num2words import num2words

from agent_runtime.contracts.dst import Intent
from agent_runtime.dst.text import to_stt_style
from simulator.personas import Persona

# {amount}: a money amount, rendered as "$75", "75 dollars", "seventy five" or "75 bucks".
COMMON: dict[Intent, tuple[str, ...]] = {
    Intent.COMMIT: (
        "Okay, that works for me. Set it up.",
        "Fine, let's do that.",
        "Alright, deal. Put me down for that.",
        "Yes, I can do that. Go ahead.",
        "Okay, I'll take that plan.",
        "Sure, sign me up for that.",
        "That's fair, let's go with it.",
        "Okay okay, I agree to that.",
        "Yeah, that I can manage. Let's do it.",
        "Alright, I accept. What do I need to do?",
    ),
    Intent.WILLING: (
        "What kind of options do I have?",
        "Is there some kind of payment plan?",
        "What's the lowest I could pay?",
        "I want to get this sorted out, what can we do?",
        "How would I pay, do you take cards?",
        "Could we break it into smaller payments?",
        "I'd like to take care of it, what are my choices?",
        "Maybe I could pay something, what do you need?",
        "Is there a minimum payment?",
    ),
    Intent.QUESTION: (
        "Who is this?",
        "What is this about?",
        "How much do I owe exactly?",
        "Which company did you say?",
        "Is there interest on this?",
        "Will this show up on my credit report?",
        "What account is this for?",
        "When was this from?",
        "Where did this debt come from?",
    ),
    Intent.STALL: (
        "Can you call me back later?",
        "I'm busy right now.",
        "I need to think about it.",
        "I have to talk to my wife first.",
        "Just send me something in the mail.",
        "Now isn't a good time.",
        "I'm driving, can we do this another day?",
        "Let me check my budget and get back to you.",
        "I can't deal with this right now.",
    ),
    Intent.REFUSE: (
        "I'm not paying that.",
        "No, I'm not going to pay.",
        "Not interested.",
        "I won't be paying anything.",
        "No thanks, I'm not doing that.",
        "That's not happening.",
        "I'm not going to pay that, sorry.",
        "No. I don't plan to pay this.",
    ),
    Intent.HOSTILE: (
        "This is harassment, you people are scammers.",
        "Go to hell.",
        "You're a bunch of vultures.",
        "Don't you dare threaten me, you idiot.",
        "This is a scam and you know it.",
        "Get a real job instead of harassing people.",
        "You're all crooks.",
        "Shut up and listen to me, you leech.",
    ),
    Intent.OTHER: (
        "Hello?",
        "Yeah.",
        "Uh huh.",
        "Okay.",
        "Hi, yes, speaking.",
        "Hold on a second.",
        "Sorry, say that again?",
        "Mm-hmm, go on.",
    ),
    Intent.CEASE: (
        "Stop calling me.",
        "Do not call me again.",
        "Take my number off your list.",
        "I want you to stop contacting me.",
        "Don't call this number again.",
        "Only contact me in writing.",
        "Lose my number.",
    ),
}

SOFT_DISPUTE = (
    "How do I know this is even real? Prove it.",
    "I want proof that I owe this.",
    "Send me the paperwork, I want it validated.",
    "That amount is wrong, I don't think I owe that much.",
    "I need to see some documentation first.",
    "This doesn't look right to me, I dispute it.",
)
LEGAL_DISPUTE = (
    "This isn't my debt, you have the wrong person.",
    "I already paid this off, I have the receipt.",
    "Someone stole my identity, I never opened that account.",
    "I filed for bankruptcy, talk to my lawyer.",
    "Wrong number, nobody here by that name.",
    "I paid that in full last year.",
)
HARDSHIP_BY_EVENT = {
    "job_loss": (
        "I lost my job two months ago.",
        "I got laid off and I'm barely getting by.",
        "I've been out of work since spring.",
    ),
    "illness": (
        "I've been in and out of the hospital.",
        "I'm sick and the medical bills are piling up.",
        "My husband has cancer, we're drowning in bills.",
    ),
    "divorce": ("I'm going through a divorce, everything is a mess.", "My ex left me with all the bills."),
    "reduced_hours": ("They cut my hours at work.", "I'm only working part time now."),
    "new_baby": ("We just had a baby and money is really tight.", "With the new baby we can barely pay rent."),
    "none": ("Money is really tight right now.", "I'm struggling to keep up with all my bills."),
}
SAD_HARDSHIP = (
    "I just can't handle all of this.",
    "I'm so overwhelmed, I don't know what to do.",
    "Everything is falling apart, I can't pay right now.",
    "I'm not refusing, I just can't afford it.",
)
AVOIDANT_STALL = (
    "I really don't want to get into this now.",
    "Can we do this some other time?",
    "I gotta go, I'm at work.",
    "Maybe later, okay?",
)
ANGRY_HOSTILE = (
    "Why do you keep harassing me?!",
    "You people are the worst, this is a scam.",
    "I'm sick of you bloodsuckers calling me.",
)
OPENINGS = {
    Persona.COOPERATIVE: (Intent.QUESTION, Intent.WILLING, Intent.OTHER),
    Persona.SAD: (Intent.HARDSHIP, Intent.HARDSHIP, Intent.OTHER),
    Persona.AVOIDANT: (Intent.STALL, Intent.STALL, Intent.QUESTION),
    Persona.ANGRY: (Intent.HOSTILE, Intent.HOSTILE, Intent.QUESTION),
}
STATED_MONTHLY = (
    "I could maybe do {amount} a month.",
    "The most I can pay is {amount} a month.",
    "Could I pay {amount} every month instead?",
    "I can only afford about {amount} a month.",
)
STATED_LUMP = (
    "I could pay {amount} right now, one time.",
    "I could do a lump sum of {amount} today.",
    "I have {amount} I could pay all at once.",
)
COMMIT_OWN_MONTHLY = (
    "Okay, I'll pay {amount} a month, set it up.",
    "Alright, put me down for {amount} a month.",
    "I'll do {amount} every month starting next week, deal.",
)
COMMIT_FULL = ("Fine, I'll just pay the whole {amount} today.", "Okay, I'll pay it in full, {amount}, today.")
CONFIRM_YES = ("Yes, that's right.", "Yes, correct.", "Yep, that's it.", "Yes.")
CONFIRM_NO = ("No, that's not what I said.", "No, that's not right.")
# A debtor whose own amount was misheard says it again, with its period, so that the agent can take it.
CORRECT_MONTHLY = ("No, I said {amount} a month.", "No, that's wrong, {amount} a month.")
CORRECT_LUMP = ("No, I said {amount} in one payment.", "No, {amount} in one payment, I said.")
CANT_AFFORD = (
    "I don't have that kind of money.",
    "There's no way I can pay that much.",
    "That's way more than I can afford.",
)
HOMOPHONES = {"to": "too", "there": "their", "i'll": "ill", "you're": "your", "for": "four", "a": "uh"}


def spoken_amount(value: float) -> int:
    """What a person says for a sum: whole dollars, to the nearest 5."""
    return max(5, int(round(value / 5.0) * 5))


def format_amount(value: float, rng: np.random.Generator) -> str:
    whole = spoken_amount(value)
    style = int(rng.integers(4))
    if style == 0:
        return f"${whole}"
    if style == 1:
        return f"{whole} dollars"
    if style == 2:
        return num2words(whole).replace("-", " ").replace(",", "")
    return f"{whole} bucks"


def pick(options: tuple[str, ...], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))]


def intent_text(intent: Intent, persona: Persona, life_event: str, rng: np.random.Generator) -> str:
    """A reply carrying `intent`, in the persona's voice where it has one."""
    if intent is Intent.HARDSHIP:
        if persona is Persona.SAD and rng.random() < 0.5:
            return pick(SAD_HARDSHIP, rng)
        return pick(HARDSHIP_BY_EVENT[life_event], rng)
    if intent is Intent.STALL and persona is Persona.AVOIDANT and rng.random() < 0.5:
        return pick(AVOIDANT_STALL, rng)
    if intent is Intent.HOSTILE and persona is Persona.ANGRY and rng.random() < 0.4:
        return pick(ANGRY_HOSTILE, rng)
    if intent is Intent.DISPUTE:
        return pick(SOFT_DISPUTE, rng)
    return pick(COMMON[intent], rng)


def with_amount(templates: tuple[str, ...], value: float, rng: np.random.Generator) -> str:
    return pick(templates, rng).format(amount=format_amount(value, rng))


def add_stt_noise(text: str, rng: np.random.Generator, word_error_rate: float) -> str:
    """Recogniser-style text: unformatted, with occasional homophones and dropped words."""
    words = to_stt_style(text).split()
    noisy = []
    for word in words:
        roll = rng.random()
        if roll < word_error_rate / 2 and len(words) > 3:
            continue
        noisy.append(HOMOPHONES.get(word, word) if roll < word_error_rate else word)
    return " ".join(noisy)
