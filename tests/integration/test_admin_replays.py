"""Replay management through the admin API: a short battle played by real WebSocket
players (``PlayerClient``) under a rule version made for it, then listed, searched,
stepped through tick by tick, and deleted (admin only, audited).

Testing policy: loopback, port 0, real clock, an absolute ``trio.fail_after``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import trio

from tests.integration.harness import bot, make_settings, running_server
from tests.integration.test_admin import api, error_code, token_for
from tilemud.player_client import PlayerClient
from tilemud.protocol import Join, Joined, Place, PlaceResult

#: A 4x4 battle of 15 ticks (1.5 s), no adjacency rule, no cooldown to wait out.
SHORT = {
    "width": 4,
    "height": 4,
    "battle_ticks": 15,
    "cooldown_ticks": 0,
    "require_adjacency": False,
}


async def place(client: PlayerClient, x: int, y: int) -> PlaceResult:
    answer = await client.request(Place(rid=client.next_rid(), x=x, y=y, kind="stone"))
    assert isinstance(answer, PlaceResult), answer
    return answer


async def replays(admin: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    listed = await admin.get("/v1/admin/replays", params=params)
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()["replays"]
    return found


async def test_list_step_through_and_delete_a_played_battle(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with (
            running_server(make_settings(tmp_path)) as server,
            api(server, token_for(server, "admin", player_id="admin:root")) as admin,
            api(server, token_for(server, "moderator")) as moderator,
        ):
            made = await admin.post(
                "/v1/admin/rules/battle",
                json={"from_version": 1, "changes": SHORT, "reason": "short test battles"},
            )
            assert made.status_code == 201, made.text
            activated = await admin.post(
                "/v1/admin/rules/battle/2/activate", json={"reason": "test"}
            )
            assert activated.status_code == 200
            async with bot(server, "p_ann") as ann, bot(server, "p_bob") as bob:
                for client in (ann, bob):
                    seated = await client.request(
                        Join(rid=client.next_rid(), mode="battle", region="eu")
                    )
                    assert isinstance(seated, Joined)
                    arena_id = seated.arena_id
                assert (await place(ann, 0, 0)).outcome == "accepted"
                assert (await place(bob, 3, 3)).outcome == "accepted"
                assert (await place(ann, 1, 0)).outcome == "accepted"
                live = await admin.request(
                    "DELETE", f"/v1/admin/replays/{arena_id}", json={"reason": "too early"}
                )
                assert live.status_code == 409, live.text
                assert error_code(live) == "replay_live"
                # The battle ends by time: the players see it, then storage records it
                # (right after the broadcast); its replay is then complete.
                await ann.receive_until(lambda client: client.view.ended is not None)
                for _ in range(100):
                    if (await replays(admin, player="p_ann"))[0]["state"] == "ended":
                        break
                    await trio.sleep(0.05)

            [summary] = await replays(admin, player="p_bob", mode="battle")
            assert summary["arena_id"] == arena_id
            assert summary["rule_version"] == 2
            assert summary["rules_version"] == made.json()["content_hash"]
            assert summary["participants"] == 2
            assert await replays(admin, mode="arena") == []
            assert await replays(admin, player="p_nobody") == []
            assert len(await replays(moderator, since=summary["created"])) == 1
            assert await replays(moderator, until=summary["created"]) == []

            last = await moderator.get(f"/v1/admin/replays/{arena_id}/board")
            assert last.status_code == 200, last.text
            board = last.json()
            assert (board["width"], board["height"]) == (4, 4)
            owners = {(x, y): board["players"][p] for x, y, p, _ in board["cells"]}
            assert owners == {(0, 0): "p_ann", (1, 0): "p_ann", (3, 3): "p_bob"}
            assert board["scores"] == {"p_ann": 2, "p_bob": 1}
            assert board["next_tick"] is None
            # Step back to the first logged tick, then forward again.
            first = (
                await moderator.get(
                    f"/v1/admin/replays/{arena_id}/board", params={"tick": board["ticks"][0]}
                )
            ).json()
            assert first["previous_tick"] is None
            assert len(first["cells"]) < 3
            assert first["placements"], first
            empty = (
                await moderator.get(f"/v1/admin/replays/{arena_id}/board", params={"tick": 0})
            ).json()
            assert empty["cells"] == []
            assert empty["next_tick"] == board["ticks"][0]
            for bad in ("-1", "x", "1.5"):
                refused = await moderator.get(
                    f"/v1/admin/replays/{arena_id}/board", params={"tick": bad}
                )
                assert refused.status_code == 400, refused.text
            unknown = await moderator.get("/v1/admin/replays/b_nope/board")
            assert unknown.status_code == 404
            assert error_code(unknown) == "not_found"

            forbidden = await moderator.request(
                "DELETE", f"/v1/admin/replays/{arena_id}", json={"reason": "evidence?"}
            )
            assert forbidden.status_code == 403
            no_reason = await admin.request("DELETE", f"/v1/admin/replays/{arena_id}", json={})
            assert no_reason.status_code == 400
            # Two deletions at once: one deletes (and is audited), the other finds nothing.
            answers: list[httpx.Response] = []

            async def delete(reason: str) -> None:
                answers.append(
                    await admin.request(
                        "DELETE", f"/v1/admin/replays/{arena_id}", json={"reason": reason}
                    )
                )

            async with trio.open_nursery() as nursery:
                nursery.start_soon(delete, "privacy request")
                nursery.start_soon(delete, "privacy request")
            assert sorted(a.status_code for a in answers) == [200, 404], [a.text for a in answers]
            [deleted] = [a for a in answers if a.status_code == 200]
            assert deleted.json() == {"arena_id": arena_id, "deleted": True}
            gone = await admin.get(f"/v1/replays/{arena_id}")
            assert gone.status_code == 404
            assert await replays(admin) == []
            audit = await admin.get("/v1/admin/audit", params={"action": "replay_deleted"})
            [record] = audit.json()["records"]
            assert (record["actor"], record["target"], record["reason"]) == (
                "admin:root",
                arena_id,
                "privacy request",
            )
