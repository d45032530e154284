"""Mapping profiles: packaged and operator files, picked up when changed, and every mistake in
a profile refused with the file and the entry named."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.profiles import ProfileError, load_profile, profile_names

MINIMAL = """
name = "{name}"
label = "某县导出"
required_columns = ["subject.name", "subject.id_number"]
[columns]
"subject.name" = "姓名"
"subject.id_number" = ["身份证号", "公民身份号码"]
"body.category" = "事项"
{extra}
"""


def _write(directory: Path, name: str, extra: str = "", file: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{file or name}.toml"
    path.write_text(MINIMAL.format(name=name, extra=extra), encoding="utf-8")
    return path


def test_the_packaged_profile_loads_and_lists() -> None:
    profile = load_profile("floating_women")
    assert "floating_women" in profile_names()
    assert profile.columns["subject.id_number"][0] == "公民身份号码"
    assert profile.labels["marital_status"]["离异"] == "divorced"
    assert "已婚" not in profile.labels["marital_status"]  # ambiguous: reported, not guessed


def test_an_operator_profile_is_found_and_a_changed_file_is_read_again(data_dir: Path) -> None:
    path = _write(data_dir / "profiles", "my_county")
    assert "my_county" in profile_names()
    assert load_profile("my_county").label == "某县导出"
    path.write_text(path.read_text(encoding="utf-8").replace("某县导出", "某县新导出"), "utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert load_profile("my_county").label == "某县新导出"


def test_an_operator_file_overrides_the_packaged_profile_of_its_name(data_dir: Path) -> None:
    _write(data_dir / "profiles", "floating_women")
    assert load_profile("floating_women").label == "某县导出"


def test_a_profile_by_path(tmp_path: Path) -> None:
    assert load_profile(str(_write(tmp_path, "elsewhere"))).name == "elsewhere"


@pytest.mark.parametrize(
    ("extra", "file", "words"),
    [
        ('"subject.shoe_size" = "鞋码"', None, "subject.shoe_size"),
        ('[[infer]]\ncategory = "holiday"\nwhen = ["subject.name"]', None, "holiday"),
        ('[[infer]]\ncategory = "birth"\nwhen = ["body.event_date"]', None, "body.event_date"),
        ('[labels.marital_status]\n"已婚" = "married"', None, "married"),
        ('[labels.shoe]\n"大" = "big"', None, "labels.shoe"),
        ("", "other_name", "name"),
        ("[columns.broken", None, "my_county"),
    ],
)
def test_mistakes_are_refused_naming_file_and_entry(
    tmp_path: Path, extra: str, file: str | None, words: str
) -> None:
    path = _write(tmp_path, "my_county", extra, file)
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path))
    assert str(path) in str(caught.value) and words in str(caught.value)


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile("nope")
    assert "floating_women" in str(caught.value)
