"""The ``twilioSms`` output binding (Microsoft.Azure.WebJobs.Extensions.Twilio), which v1 samples use.

The function sets the binding to a message: a JSON object (or its JSON text) with ``body``, ``to``, ``from`` and
the other fields of Twilio's CreateMessageOptions (``mediaUrl``, ``statusCallback``...). Fields the message leaves
out come from the binding (``to``, ``from``, ``body``, each with ``%AppSetting%`` expressions). The account comes
from the app settings the binding names: ``accountSidSetting`` (default ``AzureWebJobsTwilioAccountSid``) and
``authTokenSetting`` (default ``AzureWebJobsTwilioAuthToken``). funchost sends the message as the extension's Twilio
client does: ``POST https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json`` (form fields ``To``, ``From``,
``Body``..., basic authentication), through the proxy the environment names, like any other HTTPS call; a refusal
fails the invocation with Twilio's status and message.
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping

import requests

from funchost.config import resolve_setting_expression
from funchost.errors import ConfigError

API = "https://api.twilio.com/2010-04-01"
DEFAULT_SID_SETTING = "AzureWebJobsTwilioAccountSid"
DEFAULT_TOKEN_SETTING = "AzureWebJobsTwilioAuthToken"
_FIELDS = {
    "to": "To",
    "from": "From",
    "body": "Body",
    "mediaurl": "MediaUrl",
    "statuscallback": "StatusCallback",
    "messagingservicesid": "MessagingServiceSid",
    "maxprice": "MaxPrice",
    "validityperiod": "ValidityPeriod",
}


class TwilioError(ConfigError):
    """The message cannot be sent: a missing setting or field, or Twilio's refusal."""


def message_fields(binding: Mapping[str, Any], value: Any) -> dict[str, str]:
    """Twilio's form fields for ``value`` (a dict or JSON text) with the binding's defaults."""
    message = json.loads(value) if isinstance(value, (str, bytes)) else value
    if not isinstance(message, Mapping):
        raise TwilioError(f"twilioSms output '{binding.get('name')}': set it to a JSON object, got {value!r}")
    fields: dict[str, str] = {}
    for key in ("to", "from", "body"):
        if binding.get(key):
            fields[_FIELDS[key]] = resolve_setting_expression(str(binding[key]))
    for key, item in message.items():
        name = _FIELDS.get(str(key).lower())
        if name is not None and item is not None:
            fields[name] = str(item)
    for required in ("To", "From"):
        if not fields.get(required):
            raise TwilioError(
                f"twilioSms output '{binding.get('name')}': no '{required.lower()}' number in the message or the "
                f"binding (set the binding's {required.lower()!r} or the app setting it names)"
            )
    return fields


def send(binding: Mapping[str, Any], value: Any, timeout: float = 60.0) -> dict[str, Any]:
    """Send one SMS; returns Twilio's message resource."""
    sid_setting = str(binding.get("accountSidSetting") or DEFAULT_SID_SETTING)
    token_setting = str(binding.get("authTokenSetting") or DEFAULT_TOKEN_SETTING)
    sid, token = os.environ.get(sid_setting), os.environ.get(token_setting)
    if not sid or not token:
        raise TwilioError(
            f"twilioSms output '{binding.get('name')}': set the app settings {sid_setting} and {token_setting} "
            "(local.settings.json Values) to the Twilio account's SID and auth token"
        )
    fields = message_fields(binding, value)
    resp = requests.post(f"{API}/Accounts/{sid}/Messages.json", data=fields, auth=(sid, token), timeout=timeout)
    if resp.status_code >= 300:
        raise TwilioError(f"Twilio refused the message to {fields['To']}: HTTP {resp.status_code}: {resp.text[:500]}")
    return dict(resp.json())
