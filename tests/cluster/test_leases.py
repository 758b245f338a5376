"""Arena leases and node cards against the machine's Redis (real clock, absolute bounds)."""

from __future__ import annotations

import pytest
import trio

from tilemud.cluster import open_redis_link
from tilemud.cluster.leases import ArenaLeases, LeaseBook
from tilemud.cluster.nodes import NodeBoard, NodeCard, ShardLine, choose_node
from tilemud.config import ClusterSettings, RedisSettings

BOUND = 20


def card(node_id: str, *arenas: ShardLine, draining: bool = False, capacity: int = 4) -> NodeCard:
    return NodeCard(
        node_id=node_id,
        ws_url=f"ws://{node_id}/v1/ws",
        http_url=f"http://{node_id}",
        players=sum(line.players for line in arenas),
        arenas=arenas,
        capacity=capacity,
        draining=draining,
    )


def line(arena_id: str, players: int, capacity: int = 4, region: str = "eu") -> ShardLine:
    return ShardLine(
        arena_id=arena_id, mode="arena", region=region, players=players, capacity=capacity
    )


async def test_two_nodes_racing_for_one_arena_give_it_one_owner(
    redis_settings: RedisSettings,
) -> None:
    with trio.fail_after(BOUND):
        async with (
            open_redis_link(redis_settings, ClusterSettings(node_id="a")) as a,
            open_redis_link(redis_settings, ClusterSettings(node_id="b")) as b,
        ):
            leases_a, leases_b = ArenaLeases(ttl=5.0), ArenaLeases(ttl=5.0)
            won: list[str] = []

            async def race(link: object, leases: ArenaLeases, name: str) -> None:
                assert link is a or link is b
                if await leases.claim(link, "a_1", now=trio.current_time()):
                    won.append(name)

            for _ in range(3):  # the loser keeps losing while the winner holds it
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(race, a, leases_a, "a")
                    nursery.start_soon(race, b, leases_b, "b")
            assert len(won) == 1
            winner, loser = (leases_a, leases_b) if won == ["a"] else (leases_b, leases_a)
            winner_link, loser_link = (a, b) if won == ["a"] else (b, a)
            assert await loser.renew(loser_link, now=0.0) == []
            assert await winner.renew(winner_link, now=1.0) == []
            assert winner.book.fence_at("a_1") == 1.0 + 2.5
            holders = await loser.holders(loser_link, ["a_1", "a_2"])
            assert holders == {"a_1": winner_link.node_id, "a_2": None}
            # The loser cannot give back what it does not hold.
            await loser.release(loser_link, "a_1")
            assert (await winner.holders(winner_link, ["a_1"]))["a_1"] == winner_link.node_id
            await winner.release(winner_link, "a_1")
            assert await loser.claim(loser_link, "a_1", now=2.0)


async def test_a_lease_taken_over_after_expiry_is_reported_lost(
    redis_settings: RedisSettings,
) -> None:
    with trio.fail_after(BOUND):
        async with (
            open_redis_link(redis_settings, ClusterSettings(node_id="a")) as a,
            open_redis_link(redis_settings, ClusterSettings(node_id="b")) as b,
        ):
            first, second = ArenaLeases(ttl=0.2), ArenaLeases(ttl=5.0)
            assert await first.claim(a, "a_1", now=0.0)
            await trio.sleep(0.4)  # expired in Redis: the owner stopped renewing
            assert await second.claim(b, "a_1", now=0.0)
            assert await first.renew(a, now=1.0) == ["a_1"]
            assert not first.book.holds("a_1")


def test_the_lease_book_fences_at_half_a_lease_after_the_last_renewal() -> None:
    book = LeaseBook(ttl=10.0)
    assert book.next_fence() == float("inf")
    book.renewed("x", 100.0)
    book.renewed("y", 103.0)
    assert book.next_fence() == 105.0
    assert book.overdue(104.9) == []
    assert book.overdue(105.0) == ["x"]
    book.forget("x")
    assert book.overdue(200.0) == ["y"]


async def test_cards_are_published_read_and_withdrawn(redis_settings: RedisSettings) -> None:
    with trio.fail_after(BOUND):
        async with open_redis_link(redis_settings, ClusterSettings(node_id="a")) as link:
            board = NodeBoard(ttl=5.0)
            mine = card("a", line("a_1", 2))
            await board.publish(link, mine)
            await board.publish(link, card("b"))
            assert await board.cards(link) == [mine, card("b")]
            await board.withdraw(link, "b")
            assert await board.cards(link) == [mine]
            short = NodeBoard(ttl=0.2)
            await short.publish(link, card("c"))
            await trio.sleep(0.4)  # c died: its card expired, its name is dropped
            assert await board.cards(link) == [mine]
            names = await link.run(lambda redis: redis.smembers(link.key("nodes")))
            assert names == {"a"}


def test_matchmaking_over_the_cluster_picks_mode_region_then_load() -> None:
    a = card("a", line("a_1", 4), line("a_2", 3, region="us"))
    b = card("b", line("b_1", 1, region="us"))
    c = card("c", line("c_1", 2))
    choice = choose_node([a, b, c], "arena", "eu")
    assert choice is not None
    assert (choice.node.node_id, choice.arena_id) == ("c", "c_1")
    # Every eu arena full: the node with the fewest arenas opens one.
    full = card("c", line("c_1", 4))
    choice = choose_node([a, b, full], "arena", "eu")
    assert choice is not None
    assert (choice.node.node_id, choice.arena_id) == ("b", None)
    # Draining nodes take nobody; full nodes open nothing.
    assert choose_node([card("a", draining=True)], "arena", "eu") is None
    assert choose_node([card("a", line("a_1", 4), capacity=1)], "arena", "eu") is None


def test_a_card_survives_its_json() -> None:
    mine = card("a", line("a_1", 2), draining=True)
    assert NodeCard.from_json(mine.to_json()) == mine
    with pytest.raises(Exception, match="NodeCard"):
        NodeCard.from_json(mine.to_json().replace('"players"', '"extra":1,"players"', 1))
