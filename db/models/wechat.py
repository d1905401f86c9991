"""wechat tables (owned by the wechat channel).

- `wechat_access_token`: the API access_token shared by every worker process. WeChat issues one token
  per app; a process that fetched its own would invalidate the others' after five minutes.

A message sent as a template summary (outside the 48-hour window) waits for the user's next message
in the outbox itself, in the state `awaiting_reply`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UTCDateTime


class WeChatAccessToken(Base):
    __tablename__ = "wechat_access_token"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    token: Mapped[str] = mapped_column(String(512))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


__all__ = ["WeChatAccessToken"]
