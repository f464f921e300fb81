"""In-memory SMS gateway with an outbox; the reference gateway serves this same object."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping

from connectors.errors import ConnectorRejected, ConnectorUnavailable
from connectors.sms import SmsMessage, SmsReceipt

__all__ = ["TEMPLATES", "FakeSmsGateway"]

# Registered templates: text and the exact parameters each needs.
TEMPLATES: dict[str, tuple[str, frozenset[str]]] = {
    "verification_code": (
        "【统一身份认证平台】验证码{code}，{minutes}分钟内有效。请勿告诉他人。",
        frozenset({"code", "minutes"}),
    ),
    "agent_authorised": (
        "【统一身份认证平台】{org_name}已授权您作为经办人办理业务。",
        frozenset({"org_name"}),
    ),
    "phone_changed": (
        "【统一身份认证平台】您账号绑定的手机号已更换为{phone}。如非本人操作，请立即致电12345。",
        frozenset({"phone"}),
    ),
    "closure_requested": (
        "【统一身份认证平台】您已申请注销账号，将于{date}生效。如非本人操作，请登录撤销或致电12345。",
        frozenset({"date"}),
    ),
}
PHONE = re.compile(r"1[3-9][0-9]{9}")
MAX_PARAM = 64
OUTBOX_SIZE = 50


class FakeSmsGateway:
    """Set `available = False` to make every call raise ConnectorUnavailable."""

    def __init__(self) -> None:
        self._outbox: dict[str, deque[SmsMessage]] = {}
        self._lock = threading.Lock()
        self.available = True

    def send(self, phone: str, template: str, params: Mapping[str, str]) -> SmsReceipt:
        self._check_available()
        if not PHONE.fullmatch(phone):
            raise ConnectorRejected("malformed_request", "phone must be an 11-digit mobile number")
        if template not in TEMPLATES:
            raise ConnectorRejected("unknown_template", "template is not registered")
        text, needed = TEMPLATES[template]
        if set(params) != needed or not all(
            isinstance(v, str) and 0 < len(v) <= MAX_PARAM for v in params.values()
        ):
            raise ConnectorRejected(
                "bad_params", f"{template} needs {', '.join(sorted(needed))} as short strings"
            )
        message = SmsMessage(
            message_id="sms-" + uuid.uuid4().hex,
            phone=phone,
            template=template,
            params=dict(params),
            text=text.format(**params),
            sent_at=time.time(),
        )
        with self._lock:
            self._outbox.setdefault(phone, deque(maxlen=OUTBOX_SIZE)).append(message)
        return SmsReceipt(message.message_id)

    def outbox(self, phone: str) -> list[SmsMessage]:
        self._check_available()
        with self._lock:
            if not phone:  # every number's, for the demo's listing
                every = (m for box in self._outbox.values() for m in box)
                return sorted(every, key=lambda m: m.sent_at)
            return list(self._outbox.get(phone, ()))

    def ping(self) -> None:
        self._check_available()

    def _check_available(self) -> None:
        if not self.available:
            raise ConnectorUnavailable("SMS gateway is down (fake)")
