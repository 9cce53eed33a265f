"""Tencent Cloud SMS (SendSms, API version 2021-01-11) through Tencent's official SDK
(tencentcloud-sdk-python-sms): it signs each request with TC3-HMAC-SHA256. The endpoint is
configurable (``sms.tencentcloudapi.com`` in production; a local server in tests, scheme http).
The notice's idempotency key goes as SessionContext (returned with the status report)."""

from __future__ import annotations

import json
from typing import Any

from sunvote.services.channels.base import NotConfigured, Outcome, Outgoing, rejected, retry, sent

#: Codes (of the whole answer or of the number's SendStatus) that refuse this number.
REJECT_PREFIXES = ("InvalidParameterValue.IncorrectPhoneNumber", "FailedOperation.PhoneNumber",
                   "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
                   "InvalidParameterValue.ContentLengthLimit", "InvalidParameterValue")
#: Codes that pass (rate limits, the provider's trouble, credentials being fixed).
RETRY_PREFIXES = ("LimitExceeded", "RequestLimitExceeded", "InternalError", "AuthFailure",
                  "FailedOperation.InsufficientBalanceInSmsPackage", "ResourceUnavailable",
                  "ServerNetworkError", "ClientNetworkError", "FailedOperation.SignatureIncorrect",
                  "FailedOperation.TemplateIncorrect")


def classify(code: str, message: str) -> Outcome:
    detail = f"tencent {code}: {message}"
    if code.startswith(RETRY_PREFIXES):
        return retry(detail)
    return rejected(detail)


def phone(number: str) -> str:
    """E.164 as Tencent wants it: a mainland mobile number gets +86."""
    return number if number.startswith("+") else f"+86{number}"


def deliver(outgoing: Outgoing, config: dict[str, Any]) -> Outcome:
    if not config.get("secret_id") or not config.get("secret_key"):
        raise NotConfigured("tencent")
    from tencentcloud.common import credential
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
        TencentCloudSDKException,
    )
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.sms.v20210111 import models, sms_client

    endpoint: str = config.get("endpoint") or "sms.tencentcloudapi.com"
    http = HttpProfile(endpoint=endpoint.removeprefix("http://").removeprefix("https://"),
                       reqTimeout=int(float(config.get("timeout", 10))))
    http.scheme = "http" if endpoint.startswith("http://") else "https"
    client = sms_client.SmsClient(credential.Credential(config["secret_id"], config["secret_key"]),
                                  config.get("region") or "ap-guangzhou",
                                  ClientProfile(httpProfile=http))
    request = models.SendSmsRequest()
    request.from_json_string(json.dumps({
        "PhoneNumberSet": [phone(outgoing.address)], "SmsSdkAppId": config.get("sdk_app_id"),
        "SignName": config.get("sign_name"), "TemplateId": config.get("template_id"),
        "TemplateParamSet": [outgoing.message], "SessionContext": outgoing.key}))
    try:
        response = client.SendSms(request)
    except TencentCloudSDKException as exc:
        code = exc.get_code() or "ClientNetworkError"
        return classify(code, str(exc.get_message())[:200])
    except Exception as exc:  # anything else the transport raised: a passing failure
        return retry(f"tencent {type(exc).__name__}: {exc}")
    statuses = response.SendStatusSet or []
    if len(statuses) != 1:
        return retry(f"tencent: {len(statuses)} statuses for one number")
    status = statuses[0]
    if status.Code == "Ok":
        return sent(status.SerialNo)
    return classify(status.Code or "", status.Message or "")
