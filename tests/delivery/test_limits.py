"""The pacers on their own, in virtual time: a clock the test moves and a sleep that only records."""

from __future__ import annotations

import pytest

from chatbot.delivery.limits import ChannelLimit, ChannelLimiter, ChatPacers, Pacer


class Ticks:
    """`monotonic` reads `t`; `sleep` records how long it was asked to wait and moves `t` on."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def test_a_pacer_spaces_slots_one_interval_apart() -> None:
    ticks = Ticks()
    pacer = Pacer(4.0, ticks.monotonic, ticks.sleep)
    assert [pacer.reserve() for _ in range(3)] == [0.0, 0.25, 0.5]


@pytest.mark.parametrize("rate", [0.0, -1.0])
def test_a_pacer_needs_a_positive_rate(rate: float) -> None:
    with pytest.raises(ValueError, match=r"^rate must be positive$"):
        Pacer(rate)


def test_a_pacer_makes_up_at_most_its_tolerance_after_a_stall() -> None:
    ticks = Ticks()
    pacer = Pacer(10.0, ticks.monotonic, ticks.sleep, tolerance=0.5)
    assert pacer.reserve() == 0.0
    ticks.t = 10.0  # a long stall: only half a second of missed slots may still be used
    waits = [pacer.reserve() for _ in range(7)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1])


async def test_a_pacer_sleeps_only_when_its_slot_is_not_free() -> None:
    ticks = Ticks()
    pacer = Pacer(2.0, ticks.monotonic, ticks.sleep)
    await pacer.acquire()
    assert ticks.sleeps == []
    await pacer.acquire()
    assert ticks.sleeps == [0.5]


def test_chat_pacers_pace_each_chat_strictly_and_separately() -> None:
    ticks = Ticks()
    pacers = ChatPacers(1.0, ticks.monotonic, ticks.sleep)
    assert [pacers.reserve("a"), pacers.reserve("a"), pacers.reserve("b")] == [0.0, 1.0, 0.0]
    ticks.t = 10.0  # idle chats get no burst of missed slots
    assert [pacers.reserve("a"), pacers.reserve("a")] == [0.0, 1.0]


def test_chat_pacers_release_gives_the_slot_back() -> None:
    ticks = Ticks()
    pacers = ChatPacers(1.0, ticks.monotonic, ticks.sleep)
    assert [pacers.reserve("a"), pacers.reserve("a")] == [0.0, 1.0]
    pacers.release("a")
    pacers.release("never-seen")
    assert pacers.reserve("a") == 1.0


def test_chat_pacers_forget_idle_chats_once_there_are_more_than_ten_thousand() -> None:
    ticks = Ticks()
    pacers = ChatPacers(1.0, ticks.monotonic, ticks.sleep)
    for n in range(9_999):
        pacers.reserve(f"chat-{n}")
    ticks.t = 4.0
    pacers.reserve("edge")  # its next slot is at 5 s
    ticks.t = 5.0
    pacers.reserve("new-1")  # 10,000 known: none forgotten yet
    assert len(pacers._pacers) == 10_001
    pacers.reserve("new-2")  # more than 10,000: the idle ones go, "edge" too (its slot is now)
    assert sorted(pacers._pacers) == ["new-1", "new-2"]


async def test_channel_limiter_waits_for_the_chat_then_the_channel() -> None:
    ticks = Ticks()
    limiter = ChannelLimiter(ChannelLimit(per_second=2.0), ticks.monotonic, ticks.sleep)
    await limiter.acquire()
    assert ticks.sleeps == []
    await limiter.acquire(chat_wait=0.75)  # the channel's next slot (0.5 s) has passed by then
    assert ticks.sleeps == [0.75]
    await limiter.acquire()  # the channel's slot after the one taken at 0.75 s
    assert ticks.sleeps == [0.75, 0.5]
    # No per-chat limit: a chat never waits, and releasing is a no-op.
    assert limiter.chat_wait("a") == 0.0
    limiter.release_chat("a")


async def test_channel_limiter_lets_sends_due_within_the_burst_go_at_once() -> None:
    ticks = Ticks()
    limiter = ChannelLimiter(ChannelLimit(per_second=10.0, burst_seconds=0.25), ticks.monotonic, ticks.sleep)
    for _ in range(4):
        await limiter.acquire()  # due at 0, 0.1, 0.2 and 0.3 s: the last is beyond the burst
    assert ticks.sleeps == pytest.approx([0.3])
