"""The refresh_tokens options: defaults, environment names, and values refused at start-up."""

from __future__ import annotations

import shutil

import pytest

from portus import config
from tests.config.test_config import CONFIG_DIR


@pytest.fixture
def folder(tmp_path):
    shutil.copy(CONFIG_DIR / "config.yml", tmp_path / "config.yml")
    return tmp_path


def test_defaults(folder):
    tree = config.load(folder, environ={})
    assert tree["refresh_tokens"] == {"idle_days": 30, "max_lifetime_days": 365}


def test_set_from_the_environment(folder):
    tree = config.load(folder, environ={"PORTUS_REFRESH_TOKENS_IDLE_DAYS": "7",
                                        "PORTUS_REFRESH_TOKENS_MAX_LIFETIME_DAYS": "0"})
    assert tree["refresh_tokens"] == {"idle_days": 7, "max_lifetime_days": 0}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORTUS_REFRESH_TOKENS_IDLE_DAYS": "0"}, "refresh_tokens.idle_days"),
        ({"PORTUS_REFRESH_TOKENS_IDLE_DAYS": "-3"}, "refresh_tokens.idle_days"),
        ({"PORTUS_REFRESH_TOKENS_IDLE_DAYS": "a month"}, "refresh_tokens.idle_days"),
        ({"PORTUS_REFRESH_TOKENS_MAX_LIFETIME_DAYS": "-1"}, "refresh_tokens.max_lifetime_days"),
        ({"PORTUS_REFRESH_TOKENS_MAX_LIFETIME_DAYS": "99999999"}, "refresh_tokens.max_lifetime_days"),
    ],
)
def test_nonsense_is_refused_naming_the_option(folder, env, message):
    with pytest.raises(config.ConfigError, match=message.replace(".", r"\.")):
        config.load(folder, environ=env)
