import json
import subprocess
import sys

import pytest

from agent_runtime.contracts.dst import Flag, Intent, Period
from agent_runtime.dst.amounts import read_money
from agent_runtime.dst.text import clean, digits_for_number_words, to_stt_style

INTENT_EXAMPLES = {
    Intent.COMMIT: ["ok i'll pay fifty on friday", "deal, set it up", "alright put me down for that plan"],
    Intent.WILLING: ["what are my options", "is there some kind of payment plan", "could we work something out"],
    Intent.HARDSHIP: [
        "i lost my job last month",
        "my wife is in the hospital and the bills keep coming",
        "i'm not refusing, i just can't afford it right now",
    ],
    Intent.QUESTION: ["who is this", "how much do i owe", "will this go on my credit report"],
    Intent.STALL: ["call me back later", "i need to think about it", "i have to ask my husband first"],
    Intent.REFUSE: ["i'm not paying that", "no i won't be paying anything", "not interested"],
    Intent.HOSTILE: ["you people are scammers", "go to hell", "this is harassment you idiots"],
    Intent.DISPUTE: ["this is not my debt", "i already paid this off", "someone stole my identity"],
    Intent.CEASE: ["stop calling me", "do not call this number again", "take my number off your list"],
    Intent.OTHER: ["hello", "uh huh", "hold on a second"],
}


@pytest.mark.parametrize(("intent", "text"), [(i, t) for i, texts in INTENT_EXAMPLES.items() for t in texts])
def test_every_intent_clean_and_stt_style(tracker, intent, text):
    assert tracker.read(text).intent is intent
    assert tracker.read(to_stt_style(text)).intent is intent


@pytest.mark.parametrize(
    ("text", "amount", "period"),
    [
        ("i can do $75 a month", 75, Period.MONTHLY),
        ("i could pay seventy five a month", 75, Period.MONTHLY),
        ("maybe 40 bucks every two weeks", 40, Period.BIWEEKLY),
        ("i can pay one hundred and twenty dollars a week", 120, Period.WEEKLY),
        ("i can pay 1,500 today", 1500, Period.ONCE),
        ("i could do a couple hundred right now", 200, Period.ONCE),
        ("i can pay fifty on friday", 50, Period.ONCE),
        ("i can pay 2k in one payment", 2000, Period.ONCE),
        ("call me in 2 weeks", None, None),
        ("i have 3 kids", None, None),
        ("i can pay monthly", None, Period.MONTHLY),
        ("i could manage three grand if that closes it", 3000, None),
        ("let's say 45 monthly", 45, Period.MONTHLY),
        ("30 weekly works for me", 30, Period.WEEKLY),
        ("i can do 60 a month, not 120", 60, Period.MONTHLY),
        ("how about 250 instead of the 400 you said", 250, None),
        ("I can't do 200 a month, no way, but 75 a month I could manage.", 75, Period.MONTHLY),
        ("i cant afford the 900 you want", None, None),
        ("i can't pay more than 150 a month", 150, Period.MONTHLY),
        ("i'd borrow from my 401k to pay 900 today", 900, Period.ONCE),
        ("I can send 13 hundred today.", 1300, Period.ONCE),  # a recogniser's "thirteen hundred"
        ("maybe three and a half grand if it ends this", 3500, None),
        ("1 and a half thousand today and we are done", 1500, Period.ONCE),
        ("we're 2 and a half months behind on rent", None, None),
    ],
)
def test_amounts_and_periods_in_digits_dollar_signs_and_words(tracker, text, amount, period):
    reading = tracker.read(text)
    assert reading.amount == amount
    assert reading.period is period


@pytest.mark.parametrize(
    ("text", "amount", "period"),
    [
        # how people say sums
        ("fifteen every two weeks its all i can swing", 15, Period.BIWEEKLY),
        ("all i have is five a week", 5, Period.WEEKLY),
        ("Twelve fifty in one payment today.", 1250, Period.ONCE),
        ("One fifteen, sorry, one ten a month. One ten.", 110, Period.MONTHLY),
        ("Two hundred, no wait, two fifty a month. Two fifty.", 250, Period.MONTHLY),
        ("sixty two dollars and fifty cents a month", 62.5, Period.MONTHLY),
        ("twelve dollars fifty a week ok", 12.5, Period.WEEKLY),
        ("a buck fifty a month fine", 150, Period.MONTHLY),
        ("$300 today and $85 next Tuesday, and that's the full amount.", 385, Period.ONCE),
        ("Three hundred a month is too much. Could we try two hundred instead?", 200, Period.MONTHLY),
        ("one eighty today on my card, the one ending in 4471", 180, Period.ONCE),
        ("Let's do the three hundred today. The card starts with 4147.", 300, Period.ONCE),
        ("Could we do one-seventy-five a month instead of the two-fifty?", 175, Period.MONTHLY),
        ("I can pay two hundred fifty one time, but not more.", 250, Period.ONCE),
        ("What about half a grand and we're done?", 500, None),
        ("Four hundred down today and the last two sixty on the thirtieth, and we're square.", 660, Period.ONCE),
        ("Very well, 2000, paid on the 28, in full and final settlement.", 2000, Period.ONCE),
        ("could i start with twenty every other week", 20, Period.BIWEEKLY),
        # how a recogniser mishears them
        ("alright to hundred on friday then", 200, Period.ONCE),
        ("yes for hundred today to close it out", 400, Period.ONCE),
        ("take the free hundred out of the checking", 300, None),
        ("Can I pay for the a week instead?", 40, Period.WEEKLY),
        ("Could you work with a brand?", 1000, None),
        ("Okay 35 memory month I paid.", 35, Period.MONTHLY),
        ("I offer you 120 months, what do you think?", 120, Period.MONTHLY),
        ("8-5 every 2 weeks on payday, yes", 85, Period.BIWEEKLY),
        ("ok yeah too hundred a month works for me", 200, Period.MONTHLY),
        # and what stays as it was
        ("$200 now and $100 next month", None, Period.MONTHLY),  # two sums: unclear
        ("can i spread it over 60 months", None, None),
        ("i bought a brand new car for 20 grand", 20000, None),
        ("i paid for the week already", None, None),
        ("we fell behind 2 months ago", None, None),
    ],
)
def test_spoken_and_misheard_sums(text, amount, period):
    cleaned = clean(text)
    said, said_period = read_money(cleaned, digits_for_number_words(cleaned))  # the reader, whatever the intent
    assert (said.amount, said_period) == (amount, period)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("i'm living on about six hundred dollars a month", Intent.HARDSHIP),
        ("i paid that off in 2019 i have the letter", Intent.DISPUTE),
        ("the balance is wrong i owed four hundred not eleven hundred", Intent.DISPUTE),
        ("i make like four hundred every week and i can barely pay my rent", Intent.HARDSHIP),
        ("i only have 12 dollars", Intent.HARDSHIP),  # short, but it says what the sum is
    ],
)
def test_a_sum_outside_an_offer_is_a_fact_not_an_amount(tracker, text, intent):
    reading = tracker.read(text)
    assert reading.intent is intent
    assert (reading.amount, reading.period, reading.amount_unclear) == (None, None, False)


@pytest.mark.parametrize(
    ("text", "not_intent", "amount"),
    [
        ("if i paid 600 to settle would that be reported as settled", Intent.DISPUTE, 600),
        ("eleven hundred paid in full friday and we never talk again deal", Intent.DISPUTE, 1100),
        ("if i paid like twenty five a week would you stop calling", Intent.CEASE, 25),
        ("two and a half grand, paid in full, done", Intent.DISPUTE, 2500),
        ("and is there a penalty if i paid it off early", Intent.DISPUTE, None),
    ],
)
def test_a_payment_offered_is_no_dispute_and_no_request_to_stop(tracker, text, not_intent, amount):
    reading = tracker.read(text)
    assert reading.intent is not not_intent and reading.amount == amount


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("No, I said 190 dollars a month.", 190),  # the simulator's correction of a misheard read-back
        ("no thats too much, i can do 50 a month", 50),
        ("Fifty a week? Not happening", None),  # a sum turned down
        ("no, i'm not paying 200 a month", None),
    ],
)
def test_a_refusal_carries_a_sum_only_where_it_corrects_or_counters(tracker, text, amount):
    reading = tracker.read(text)
    assert reading.intent is Intent.REFUSE and reading.amount == amount


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("i already paid this", Intent.DISPUTE),
        ("that account was paid in full years ago", Intent.DISPUTE),
        ("we paid in full last year", Intent.DISPUTE),
        ("i paid it off last year", Intent.DISPUTE),
        ("after i paid the 500 they said we were square", Intent.DISPUTE),
        ("stop calling me", Intent.CEASE),
        ("can you stop calling me", Intent.CEASE),
        ("would you stop calling me", Intent.CEASE),  # asked without a condition about paying: a request
        ("when will you stop calling me", Intent.CEASE),
        ("my wife is sick and i lost my job so when will you stop calling", Intent.CEASE),
        ("i have no money, would you stop calling after six at least", Intent.CEASE),
        ("if i paid 100 would you stop calling, otherwise remove my number", Intent.CEASE),
    ],
)
def test_past_payments_and_requests_to_stop_are_still_read_by_the_rules(tracker, text, intent):
    reading = tracker.read(text)
    assert (reading.intent, reading.confidence) == (intent, 1.0)  # the rule's, not the classifier's


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("talk to my attorney", Flag.MENTIONS_ATTORNEY),
        ("i filed chapter seven bankruptcy", Flag.MENTIONS_BANKRUPTCY),
        ("you have the wrong number", Flag.WRONG_PERSON),
        ("somebody stole my identity", Flag.IDENTITY_THEFT),
        ("i already paid that", Flag.ALREADY_PAID),
        ("prove it send me the paperwork", Flag.ASKS_VALIDATION),
        ("let me talk to your supervisor", Flag.ASKS_SUPERVISOR),
        ("contact me by mail only", Flag.WRITTEN_ONLY),
        ("can you call me back tomorrow", Flag.CALLBACK_REQUEST),
    ],
)
def test_flags(tracker, text, flag):
    assert flag in tracker.read(text).flags


def test_sentiment_has_sign_and_bounds(tracker):
    assert tracker.read("thank you so much, that's really helpful").sentiment > 0.3
    assert tracker.read("you are pathetic criminals, i hate this").sentiment < -0.3
    assert tracker.read("i am not happy about this").sentiment < 0


def test_short_answers_depend_on_a_pending_offer(tracker):
    assert tracker.read("yeah okay", True).intent is Intent.COMMIT
    assert tracker.read("yeah okay", False).intent is not Intent.COMMIT
    assert tracker.read("nope", True).intent is Intent.REFUSE


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\x00\x07\x1b[31m",
        "😀🔥💸",
        "¿Dónde está mi dinero? no entiendo",
        "我不想付钱",
        "a" * 10_000,
        "pay " * 2_500,
        "\ud800 broken surrogate",
    ],
)
def test_bad_input_never_crashes(tracker, text):
    reading = tracker.read(text)
    assert -1.0 <= reading.sentiment <= 1.0
    assert reading.intent in Intent


def test_nothing_recognisable_is_other(tracker):
    assert tracker.read("").intent is Intent.OTHER
    assert tracker.read("😀🔥💸").intent is Intent.OTHER


def test_non_string_input_is_a_clear_error(tracker):
    with pytest.raises(TypeError, match="str"):
        tracker.read(None)


def test_cli_reads_lines_and_writes_json_lines():
    lines = "stop calling me\ni can do seventy five a month\n\n"
    result = subprocess.run(
        [sys.executable, "-m", "agent_runtime.dst"], input=lines, capture_output=True, text=True, check=True, timeout=60
    )
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["intent"] for r in rows] == ["cease", "willing", "other"]
    assert rows[1]["amount"] == 75 and rows[1]["period"] == "monthly"
    assert set(rows[0]) >= {"intent", "sentiment", "amount", "period", "flags"}


def test_cli_survives_invalid_utf8():
    result = subprocess.run(
        [sys.executable, "-m", "agent_runtime.dst"],
        input=b"\xff\xfe stop calling\n",
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert json.loads(result.stdout)["intent"] == "cease"
