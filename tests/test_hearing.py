"""The hearing benchmark scores what it claims to: numbers however written, and each channel against clean speech."""

from benchmarks.hearing import normalise, relative_to_clean


def test_word_error_rate_ignores_how_numbers_are_written():
    assert normalise("I can do $785 a month.") == normalise("i can do seven hundred eighty five a month")


def test_a_channel_is_within_tolerance_only_if_both_its_wer_and_its_f1_are_within_10_percent_of_clean():
    clean = {"word_error_rate": 0.20, "dst_macro_f1": 0.80}
    assert relative_to_clean({"word_error_rate": 0.218, "dst_macro_f1": 0.73}, clean)["within_tolerance"]
    worse_words = relative_to_clean({"word_error_rate": 0.23, "dst_macro_f1": 0.80}, clean)
    assert worse_words == {"word_error_rate": 0.15, "dst_macro_f1": 0.0, "within_tolerance": False}
    assert not relative_to_clean({"word_error_rate": 0.20, "dst_macro_f1": 0.70}, clean)["within_tolerance"]
