"""A bad config stops the start with exit code 2 and one sentence naming the key."""

import pytest

from desk.config import Config, ConfigError, agent_key, load
from tui.cli import main


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_config_gives_defaults():
    config = load(None)
    assert config.backend == "mock" and config.sla.first_response_minutes == 60
    assert [n.department for n in config.mock.numbers] == ["Sales", "Support"]


def test_example_config_is_the_defaults():
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    assert load(example) == Config()


@pytest.mark.parametrize(
    "text, key",
    [
        ("colour = 'red'", "colour"),
        ("[sla]\nfirst_response = 3", "sla.first_response"),
        ("[sla]\nfirst_response_minutes = 'soon'", "sla.first_response_minutes"),
        ("timezone = 'Mars/Olympus'", "timezone"),
        ("[sla.business_hours]\ntimezone = 'Nowhere'", "sla.business_hours.timezone"),
        ("[sla.business_hours]\nstart = '9am'", "sla.business_hours.start"),
        ("[sla.business_hours]\ndays = ['funday']", "sla.business_hours.days"),
        ("[mock]\nspeed = 0", "mock.speed"),
        ("[mock]\nseed = true", "mock.seed"),
    ],
)
def test_bad_config_names_the_key(tmp_path, text, key, capsys):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load(path)
    assert main(["--config", str(path), "--data-dir", str(tmp_path / "data")]) == 2
    err = capsys.readouterr().err.strip()
    assert key in err and err.count("\n") == 0


def test_per_number_sla(tmp_path):
    path = write(
        tmp_path,
        """
[[mock.numbers]]
id = "1"
display = "+1 555-0100"
department = "Sales"
[mock.numbers.sla]
first_response_minutes = 15
""",
    )
    config = load(path)
    assert config.sla_for("1").first_response_minutes == 15
    assert config.sla_for("2").first_response_minutes == 60


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for option in ("--config", "--data-dir", "--backend", "--seed", "--speed"):
        assert option in out


CLOUD = """
backend = "cloud"
[cloud]
waba_id = "102290129340398"
[[cloud.numbers]]
phone_number_id = "106540352242922"
department = "Support"
"""


def test_cloud_needs_its_account_and_numbers(tmp_path):
    with pytest.raises(ConfigError, match=r"cloud\.waba_id"):
        load(write(tmp_path, 'backend = "cloud"'))
    with pytest.raises(ConfigError, match=r"cloud\.numbers"):
        load(write(tmp_path, 'backend = "cloud"\n[cloud]\nwaba_id = "1"'))
    config = load(write(tmp_path, CLOUD))
    assert [(n.id, n.department) for n in config.numbers()] == [("106540352242922", "Support")]


@pytest.mark.parametrize("missing", ["WHATSAPP_ACCESS_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN"])
def test_a_missing_secret_stops_the_start_naming_the_variable(tmp_path, monkeypatch, capsys, missing):
    secrets = {"WHATSAPP_ACCESS_TOKEN": "EAAG-secret-token", "WHATSAPP_APP_SECRET": "app-secret-value",
               "WHATSAPP_VERIFY_TOKEN": "verify-value"}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(missing)
    code = main(["--config", str(write(tmp_path, CLOUD)), "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert code == 2 and missing in err and err.strip().count("\n") == 0
    assert not any(value in err for value in secrets.values())  # never a secret, only its name


@pytest.mark.parametrize(
    "text, needed, optional",
    [
        ('[[mock.numbers]]\nid = "1"', "mock.numbers[0] needs display, department.", "sla"),
        ('[[cloud.numbers]]\ndepartment = "Support"', "cloud.numbers[0] needs phone_number_id.", "display"),
    ],
)
def test_an_optional_key_is_never_reported_as_needed(tmp_path, text, needed, optional):
    with pytest.raises(ConfigError) as error:
        load(write(tmp_path, text))
    assert str(error.value).endswith(needed) and optional not in str(error.value)


@pytest.mark.parametrize(
    "table, key, zero_allowed",
    [
        ("sla", "first_response_minutes", True),
        ("sla", "next_response_minutes", True),
        ("sla", "resolution_minutes", True),
        ("sla", "warn_before_minutes", True),
        ("alerts", "waiting_minutes", True),
        ("alerts", "window_minutes", True),
        ("inbox", "closing_soon_minutes", True),
        ("cloud", "template_sync_minutes", False),
        ("cloud", "timeout_seconds", False),
        ("mock", "speed", False),
        ("mock", "inbound_per_minute", True),
    ],
)
def test_negative_or_zero_durations_are_refused_naming_the_key(tmp_path, table, key, zero_allowed):
    """Zero is refused too where it would mean a busy loop (a sync every 0 minutes) or a request
    that always times out; a threshold, a rate or an SLA budget may be 0 (off)."""
    for value in (-1, 0):
        path = write(tmp_path, f"[{table}]\n{key} = {value}")
        if value == 0 and zero_allowed:
            load(path)
            continue
        with pytest.raises(ConfigError, match=rf"{table}\.{key} must"):
            load(path)
    with pytest.raises(ConfigError, match=r"mock\.numbers\[0\]\.sla\.first_response_minutes must"):
        load(write(tmp_path, '[[mock.numbers]]\nid = "1"\ndisplay = "x"\ndepartment = "y"\n'
                             "[mock.numbers.sla]\nfirst_response_minutes = -5"))


def test_overrides_are_checked_like_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"cloud\.waba_id"):
        load(None, backend="cloud")
    with pytest.raises(ConfigError, match=r"mock\.speed"):
        load(write(tmp_path, "[mock]\nspeed = 2.0"), speed=-1)
    assert load(None, seed=3, speed=60).mock.seed == 3


@pytest.mark.parametrize(("text", "key"), [
    ('agent_name = "Ana María"', "ana-maría"),
    ('agent_name = "  Ben  O\'Neil "', "ben-o-neil"),
    ('agent_name = "Ana"\nagent_id = "a-17"', "a-17"),
])
def test_the_agents_id_is_agent_id_or_made_from_the_name(tmp_path, text, key):
    path = tmp_path / "config.toml"
    path.write_text(text + "\n")
    assert agent_key(load(path)) == key


def test_a_name_without_a_letter_or_digit_needs_an_agent_id(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('agent_name = "***"\n')
    with pytest.raises(ConfigError, match="agent_id"):
        load(path)
