"""wechat tables (owned by the wechat channel).

- `wechat_access_token`: the API access_token shared by every worker process. WeChat issues one token
  per app; a process that fetched its own would invalidate the others' after five minutes.
- `wechat_deferred`: a message that went out as a short template summary (outside the 48-hour
  customer-service window); its full text is delivered the next time the user writes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UTCDateTime


class WeChatAccessToken(Base):
    __tablename__ = "wechat_access_token"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    token: Mapped[str] = mapped_column(String(512))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WeChatDeferred(Base):
    __tablename__ = "wechat_deferred"
    __table_args__ = (Index("ix_wechat_deferred_pending", "identity_id", "delivered_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("channel_identity.id", ondelete="CASCADE"))
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


__all__ = ["WeChatAccessToken", "WeChatDeferred"]
