"""Settings are reused between calls, yet follow every change of the environment and of the overrides."""

from kotacerdas.config import overridden_environment, settings
from kotacerdas.privacy import scrub_secrets


def test_settings_follow_the_environment_after_being_reused(monkeypatch):
    monkeypatch.setenv("KOTACERDAS_RAW_DIR", "/first")
    first = settings()
    assert settings() is first  # unchanged environment: the same (frozen) object
    monkeypatch.setenv("KOTACERDAS_RAW_DIR", "/second")
    assert settings().raw_dir == "/second"
    monkeypatch.setenv("kotacerdas_landing_dir", "/lower")  # pydantic-settings ignores the case of names
    assert settings().landing_dir == "/lower"
    with overridden_environment({"KOTACERDAS_RAW_DIR": "/override"}):
        assert settings().raw_dir == "/override"
    assert settings().raw_dir == "/second"
    monkeypatch.delenv("KOTACERDAS_RAW_DIR")
    assert settings().raw_dir is None


def test_a_secret_set_after_a_scrub_is_scrubbed_next(monkeypatch):
    monkeypatch.delenv("KOTACERDAS_STORAGE_OLD_KEYS", raising=False)
    assert scrub_secrets("rotated from k3y-abc123xyz") == "rotated from k3y-abc123xyz"
    monkeypatch.setenv("KOTACERDAS_STORAGE_OLD_KEYS", "k3y-abc123xyz")
    assert scrub_secrets("rotated from k3y-abc123xyz") == "rotated from ***"


def test_nested_metadata_is_scrubbed_of_given_and_settings_secrets_longest_first(monkeypatch):
    from kotacerdas.privacy import scrub_value

    monkeypatch.setenv("KOTACERDAS_STORAGE_OLD_KEYS", "tok-123456,tok-123456-long")
    value = {"a": ["used tok-123456-long", ("and tok-123456", 7)], "b": "given pw-987654"}
    assert scrub_value(value, ["pw-987654", None]) == {"a": ["used ***", ("and ***", 7)], "b": "given ***"}
    with overridden_environment({"KOTACERDAS_STORAGE_OLD_KEYS": "other-secret"}):
        assert scrub_value(["tok-123456 other-secret"]) == ["tok-123456 ***"]
    assert scrub_value(["tok-123456 other-secret"]) == ["*** other-secret"]
