"""The providers read their RICHSMS_* settings."""

from __future__ import annotations

import pytest

from richsms.settings import ConfigError, Secret, Settings
from sender.delivery.providers import provider_from_settings
from sender.delivery.providers.http import HttpConfig, HttpProvider
from sender.delivery.providers.smpp import SmppConfig, SmppProvider


def test_smpp_settings() -> None:
    settings = Settings.load(
        {
            "RICHSMS_PROVIDER": "smpp",
            "RICHSMS_SMPP_HOST": "smsc.example.net",
            "RICHSMS_SMPP_PORT": "2776",
            "RICHSMS_SMPP_SYSTEM_ID": "shop",
            "RICHSMS_SMPP_PASSWORD": "pw",
            "RICHSMS_SMPP_WINDOW": "25",
            "RICHSMS_SMPP_TLS": "true",
            "RICHSMS_SMPP_GSM7_PACKED": "0",
        },
        env_file=None,
    )
    config = SmppConfig.from_settings(settings)
    assert (config.host, config.port, config.system_id, config.password) == (
        "smsc.example.net", 2776, "shop", "pw"
    )
    assert (config.window, config.tls, config.gsm7_packed) == (25, True, False)
    assert isinstance(provider_from_settings(settings), SmppProvider)
    with pytest.raises(ConfigError, match="RICHSMS_SMPP_TLS"):
        Settings.load({"RICHSMS_SMPP_TLS": "maybe"}, env_file=None)
    # Longer than SMPP allows: refused by name (smpp34 would only say "bind timed out").
    with pytest.raises(ConfigError, match="RICHSMS_SMPP_PASSWORD"):
        provider_from_settings(settings.replace(smpp_password=Secret("much-too-long")))
    with pytest.raises(ConfigError, match="RICHSMS_SMPP_SYSTEM_ID"):
        provider_from_settings(settings.replace(smpp_system_id="a-very-long-system-id"))


def test_http_settings() -> None:
    settings = Settings.load(
        {
            "RICHSMS_PROVIDER": "http",
            "RICHSMS_BASE_URL": "https://sms.example.com/",
            "RICHSMS_HTTP_ACCOUNT_SID": "AC1",
            "RICHSMS_HTTP_AUTH_TOKEN": "token",
            "RICHSMS_HTTP_MESSAGING_SERVICE_SID": "MG1",
        },
        env_file=None,
    )
    config = HttpConfig.from_settings(settings)
    assert config.base_url == "https://api.twilio.com"  # Twilio unless told otherwise
    assert config.status_callback == "https://sms.example.com/hooks/http/status"
    assert (config.account_sid, config.auth_token, config.messaging_service_sid) == (
        "AC1", "token", "MG1"
    )
    assert isinstance(provider_from_settings(settings), HttpProvider)
