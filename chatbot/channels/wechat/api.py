"""The WeChat API through wechatpy's client, with a configurable base URL and a token shared in the DB.

wechatpy hard-codes https://api.weixin.qq.com in its token fetch; the subclasses here take the base
URL from WECHAT_API_BASE_URL (tests point it at a fake server) and keep wechatpy's request code.
Its own automatic token retry loops for as long as the API says "bad token", so it is switched off
and `call` refreshes and retries exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import requests
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from wechatpy import WeChatClient
from wechatpy.enterprise import WeChatClient as WeComClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from chatbot.clock import utcnow
from chatbot.delivery.ports import PermanentFailure, RecipientGone, RetryLater
from db.models.wechat import WeChatAccessToken
from db.session import transaction

log = logging.getLogger(__name__)
T = TypeVar("T")

WECOM_DEFAULT_BASE = "https://qyapi.weixin.qq.com/"
MP_DEFAULT_BASE = "https://api.weixin.qq.com/"
# Refresh a little before WeChat's own expiry, so a request never carries a token that dies in flight.
TOKEN_MARGIN = timedelta(minutes=5)

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
# 45015: the user has not written for 48 hours; 45047: 20 customer-service messages without a reply.
WINDOW_CLOSED = frozenset({45015, 45047})
# Unsubscribed (43004), unknown/invalid openid (40003), blocked the account (43019), WeCom: not a member.
RECIPIENT_GONE = frozenset({43004, 40003, 43019, 60111, 81013})
TRANSIENT = frozenset({-1, 45009, 45011, 45033, 45035, 50002})


class WindowClosed(Exception):
    """The customer-service window is closed: fall back to a template message."""


class DbTokenStorage(SessionStorage):  # type: ignore[misc]
    """wechatpy's session storage, backed by the wechat_access_token table (shared by all workers)."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Callable[[], datetime] = utcnow):
        self.session_factory = session_factory
        self.clock = clock

    def get(self, key: str, default: Any = None) -> Any:
        with self.session_factory() as session:
            row = session.get(WeChatAccessToken, key)
            if row is None or row.expires_at - TOKEN_MARGIN <= self.clock():
                return default
            return row.token

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        now = self.clock()
        expires = now + timedelta(seconds=ttl or 7200)
        try:
            with transaction(self.session_factory) as session:
                row = session.get(WeChatAccessToken, key)
                if row is None:
                    session.add(
                        WeChatAccessToken(key=key, token=str(value), expires_at=expires, updated_at=now)
                    )
                else:
                    row.token, row.expires_at, row.updated_at = str(value), expires, now
        except IntegrityError:
            # Another worker stored a token at the same moment; either one is valid.
            log.info("access token stored concurrently by another worker")

    def delete(self, key: str) -> None:
        with transaction(self.session_factory) as session:
            row = session.get(WeChatAccessToken, key)
            if row is not None:
                session.delete(row)


def _cgi_base(base_url: str) -> str:
    return base_url.rstrip("/") + "/cgi-bin/"


class MpClient(WeChatClient):  # type: ignore[misc]
    """Official Account client whose base URL (API and token) is configurable."""

    def __init__(
        self, appid: str, secret: str, base_url: str, storage: SessionStorage, timeout: float
    ) -> None:
        super().__init__(appid, secret, session=storage, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = _cgi_base(base_url)
        # Never route API traffic (with its access_token) through a proxy picked up from the environment.
        self._http.trust_env = False

    def fetch_access_token(self) -> Any:
        return self._fetch_access_token(
            url=self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


class CorpClient(WeComClient):  # type: ignore[misc]
    """WeCom self-built app client whose base URL (API and token) is configurable."""

    def __init__(
        self, corp_id: str, secret: str, base_url: str, storage: SessionStorage, timeout: float
    ) -> None:
        super().__init__(corp_id, secret, session=storage, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = _cgi_base(base_url)
        self._http.trust_env = False

    def fetch_access_token(self) -> Any:
        return self._fetch_access_token(
            url=self.API_BASE_URL + "gettoken", params={"corpid": self.corp_id, "corpsecret": self.secret}
        )


def errcode_of(exc: WeChatClientException) -> int | None:
    code = getattr(exc, "errcode", None)
    return int(code) if code is not None else None


def call(client: Any, request: Callable[[], T]) -> T:
    """Run one API request: refresh the token and retry once on a bad token; map errors to delivery errors."""
    for attempt in (1, 2):
        try:
            return request()
        except WeChatClientException as exc:
            code = errcode_of(exc)
            if code in TOKEN_ERRORS and attempt == 1:
                log.info("wechat access token rejected (%s); fetching a new one", code)
                try:
                    client.fetch_access_token()
                except WeChatClientException as fetch_exc:
                    raise classify(fetch_exc) from fetch_exc
                except requests.RequestException as net_exc:
                    raise RetryLater(f"token fetch failed: {type(net_exc).__name__}") from net_exc
                continue
            raise classify(exc) from exc
        except requests.RequestException as exc:
            raise RetryLater(f"network: {type(exc).__name__}") from exc
    raise RetryLater("access token still rejected after a refresh")


def classify(exc: WeChatClientException) -> Exception:
    code = errcode_of(exc)
    reason = f"wechat errcode {code}: {getattr(exc, 'errmsg', '')}"
    if code in WINDOW_CLOSED:
        return WindowClosed(reason)
    if code in RECIPIENT_GONE:
        return RecipientGone(reason)
    if code is None or code in TRANSIENT or code in TOKEN_ERRORS:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if code is None and status is not None and 400 <= status < 500 and status != 429:
            return PermanentFailure(f"wechat http {status}")
        return RetryLater(reason if code is not None else f"wechat http {status}")
    return PermanentFailure(reason)
