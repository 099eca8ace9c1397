"""XB_SECRET_KEY in production (any spelling of the environment), and the box that seals webhook secrets."""

from __future__ import annotations

import pytest

from kernel.sealing import SealError, SecretBox, is_sealed
from kernel.settings import DEV_SECRET, Settings

GOOD_KEY = "k3J9vQ2xN7bL4pR8tY1wZ6cF0hG5mD2sA9eU3iO7"


@pytest.mark.parametrize("environment", ["production", "Production", "PRODUCTION", " production ", "prod"])
def test_every_spelling_of_production_is_production(environment: str) -> None:
    assert Settings(environment=environment).is_production
    with pytest.raises(ValueError, match="must be set in production"):
        Settings(environment=environment).check_production()


@pytest.mark.parametrize("environment", ["development", "staging", "test", "productionish"])
def test_other_environments_are_not_production(environment: str) -> None:
    settings = Settings(environment=environment, secret_key="short")
    assert not settings.is_production
    settings.check_production()  # a development key is fine outside production


def test_a_short_key_is_refused_in_production() -> None:
    with pytest.raises(ValueError, match="at least 32 characters"):
        Settings(environment="Production", secret_key="k3J9vQ2xN7bL4pR8tY1wZ6cF0hG5mD2").check_production()
    Settings(environment="Production", secret_key=GOOD_KEY[:32]).check_production()


@pytest.mark.parametrize(
    "key",
    [
        "please-change-me-before-going-live-0000",
        "CHANGEME-CHANGEME-CHANGEME-CHANGEME-00",
        "this-is-a-placeholder-secret-key-for-xborder",
        "example-secret-key-example-secret-key-1234",
    ],
)
def test_a_placeholder_key_is_refused_in_production(key: str) -> None:
    with pytest.raises(ValueError, match="placeholder"):
        Settings(environment="production", secret_key=key).check_production()


def test_the_development_key_is_refused_in_production_and_a_real_one_accepted() -> None:
    with pytest.raises(ValueError):
        Settings(environment="production", secret_key=DEV_SECRET).check_production()
    Settings(environment="production", secret_key=GOOD_KEY).check_production()


def test_a_sealed_secret_opens_only_under_the_same_key_and_purpose() -> None:
    box = SecretBox(GOOD_KEY, "webhook-secrets")
    sealed = box.seal("a-very-long-shared-secret")
    assert is_sealed(sealed) and "a-very-long-shared-secret" not in sealed
    assert box.open(sealed) == "a-very-long-shared-secret"
    assert box.seal("a-very-long-shared-secret") != sealed  # a fresh IV every time
    assert SecretBox(GOOD_KEY, "webhook-secrets").open(sealed) == "a-very-long-shared-secret"
    with pytest.raises(SealError):
        SecretBox(GOOD_KEY + "x", "webhook-secrets").open(sealed)
    with pytest.raises(SealError):
        SecretBox(GOOD_KEY, "another-purpose").open(sealed)
    with pytest.raises(SealError):
        box.open("a-very-long-shared-secret")  # a plaintext row is not taken for a sealed one
    with pytest.raises(SealError):
        box.open(sealed[:-4] + "AAAA")
