"""RayEngineClient without Ray actors: stand-in replicas whose calls answer, or fail as a dead actor's do."""

from __future__ import annotations

import asyncio

import pytest
import ray

from rollout.actors import RayEngineClient
from rollout.engines.base import EngineError, GenerationRequest, GenerationResult


class _Method:
    def __init__(self, call) -> None:
        self.call = call

    def remote(self, *args):
        return self.call(*args)


class _Replica:
    """An engine actor handle: `generate` and `update_weights` answer until `die()`, then raise ActorDiedError."""

    def __init__(self, name: str) -> None:
        self.name, self.dead, self.served = name, False, []
        self.generate, self.update_weights = _Method(self._generate), _Method(self._update_weights)

    def die(self) -> None:
        self.dead = True

    async def _generate(self, request: GenerationRequest) -> GenerationResult:
        if self.dead:
            raise ray.exceptions.ActorDiedError()
        self.served.append(request.request_id)
        return GenerationResult([1], [0.0], self.name, "stop", 0, 1)

    async def _update_weights(self, _weights: object, version: int) -> int:
        if self.dead:
            raise ray.exceptions.ActorDiedError()
        return version


def _ask(client: RayEngineClient, n: int) -> list[str]:
    async def go() -> list[str]:
        return [(await client.generate(GenerationRequest([0], request_id=str(i)))).text for i in range(n)]

    return asyncio.run(go())


def test_a_dead_replica_is_dropped_and_its_requests_go_to_a_live_one():
    a, b, c = _Replica("a"), _Replica("b"), _Replica("c")
    client = RayEngineClient([a, b, c])
    assert _ask(client, 3) == ["a", "b", "c"]
    b.die()
    assert _ask(client, 4) == ["a", "c", "a", "c"]  # b's turn went to c: no request failed
    assert client.actors == [a, c] and len(client.lost) == 1 and "died" in client.lost[0]
    c.die()
    asyncio.run(client.update_weights("weights-dir", 1))  # the push skips the dead replica too
    assert client.actors == [a] and len(client.lost) == 2
    a.die()
    with pytest.raises(EngineError, match="no engine replica left"):
        _ask(client, 1)
