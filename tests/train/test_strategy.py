"""Each learner strategy round-trips its state: the full state dict, and weights + optimizer state saved and
loaded into a fresh model, on a tiny torch model (DDP and FSDP2 in a one-rank gloo group in this process)."""

from __future__ import annotations

import os
import socket

import pytest
import torch

from agentrl.train.precision import MasterWeights
from agentrl.train.strategy import STRATEGIES, make_strategy


@pytest.fixture
def one_rank_group():
    import torch.distributed as dist

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(s.getsockname()[1]))
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def _tiny(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))


def _trained(strategy, seed: int) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    """A wrapped tiny model after one AdamW step over two micro-batches (the first without gradient sync)."""
    model = strategy.wrap(_tiny(seed), torch.device("cpu"), torch.float32, keep_whole=set())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(seed))  # (B, 4)
    for i, mb in enumerate(x.split(3)):
        with strategy.no_sync(model, sync=i == 1):
            model(mb).pow(2).mean().backward()
    optimizer.step()
    return model, optimizer


def _round_trip(name: str, tmp_path) -> None:
    strategy = make_strategy(name)
    assert strategy.name == name
    model, optimizer = _trained(strategy, seed=0)
    sd = strategy.full_state_dict(model, None)
    assert set(sd) == set(_tiny(0).state_dict()) and all(v.device.type == "cpu" for v in sd.values())
    torch.save({"weights": sd, "optimizer": strategy.optimizer_state(model, optimizer)}, tmp_path / "ck.pt")

    other, other_opt = _trained(strategy, seed=1)
    assert any(not torch.equal(sd[k], v) for k, v in strategy.full_state_dict(other, None).items())
    ck = torch.load(tmp_path / "ck.pt", weights_only=False)
    strategy.load_weights(other, ck["weights"], tmp_path)
    strategy.load_optimizer_state(other, other_opt, ck["optimizer"])
    loaded = strategy.full_state_dict(other, None)
    assert all(torch.equal(sd[k], loaded[k]) for k in sd)

    x = torch.randn(3, 4)  # one more step on each: same weights and optimizer state give the same update
    for m, o in ((model, optimizer), (other, other_opt)):
        o.zero_grad(set_to_none=True)
        m(x).pow(2).mean().backward()
        o.step()
    after, other_after = strategy.full_state_dict(model, None), strategy.full_state_dict(other, None)
    assert all(torch.equal(after[k], other_after[k]) for k in after)


def test_no_strategy_round_trips_state(tmp_path):
    _round_trip("none", tmp_path)


def test_ddp_round_trips_state_and_unwraps(one_rank_group, tmp_path):
    _round_trip("ddp", tmp_path)
    strategy = make_strategy("ddp")
    model = strategy.wrap(_tiny(0), torch.device("cpu"), torch.float32, keep_whole=set())
    assert isinstance(strategy.unwrap(model), torch.nn.Sequential)


def test_fsdp2_round_trips_state(one_rank_group, tmp_path):
    _round_trip("fsdp2", tmp_path)


def test_full_state_dict_takes_the_fp32_master_weights():
    """bf16 parameters with fp32 master copies: the state dict holds the masters, not their bf16 rounding."""
    model = _tiny(0).to(torch.bfloat16)
    master = MasterWeights(list(model.parameters()))
    with torch.no_grad():
        for m in master.master:
            m.add_(1e-3)  # below bf16's resolution at these magnitudes
    sd = make_strategy("none").full_state_dict(model, master)
    assert all(v.dtype == torch.float32 for v in sd.values())
    assert torch.equal(sd["0.weight"], master.master[0].detach())


def test_lora_state_dict_merges_adapters_and_load_reads_the_adapter(tmp_path):
    from peft import LoraConfig, get_peft_model

    def peft_model(seed: int) -> torch.nn.Module:
        model = get_peft_model(_tiny(0), LoraConfig(r=2, lora_alpha=4, target_modules=["0", "2"]))
        torch.manual_seed(seed)
        for n, p in model.named_parameters():
            if "lora_" in n:
                torch.nn.init.normal_(p)
        return model

    strategy = make_strategy("none", lora=True)
    model = peft_model(1)
    sd = strategy.full_state_dict(model, None)
    assert set(sd) == set(_tiny(0).state_dict())  # base names, adapters merged in
    assert not torch.equal(sd["0.weight"], _tiny(0).state_dict()["0.weight"])
    strategy.save_adapter(model, tmp_path)
    other = peft_model(2)
    strategy.load_weights(other, sd, tmp_path)
    loaded = strategy.full_state_dict(other, None)
    assert all(torch.allclose(sd[k], loaded[k]) for k in sd)


def test_factory_refuses_an_unknown_name():
    with pytest.raises(ValueError, match=r"^strategy must be one of none, ddp, fsdp2, got 'fsdp'$"):
        make_strategy("fsdp")
    assert list(STRATEGIES) == ["none", "ddp", "fsdp2"]
