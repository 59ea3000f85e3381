"""How the learner's model is spread over ranks: one class per strategy, chosen once (as verl keeps one worker
per backend), so the learner never branches on the strategy's name.

A strategy wraps the model, says whether gradients are synchronised on a micro-batch, gathers the full state
dict, loads weights and optimizer state back, and hands out the module under its wrapper. LoRA is orthogonal:
with `lora` the whole-model strategies merge the adapters into the state dict and restore them from the
checkpoint's adapter file. A new strategy (say FSDP2 with CPU offload) is one new class in `STRATEGIES`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch

from agentrl.train.config import LearnerConfig
from agentrl.train.precision import MasterWeights

ADAPTER_DIR = "adapter"  # a LoRA checkpoint's PEFT adapter, beside the merged HF weights


def resolve_strategy(cfg: LearnerConfig) -> str:
    """`auto`: no strategy on one rank; FSDP2 on several, DDP with LoRA (its few trainable weights)."""
    if cfg.strategy != "auto":
        return cfg.strategy
    if cfg.world_size == 1:
        return "none"
    return "ddp" if cfg.lora.enabled else "fsdp2"


@dataclass
class Strategy:
    """The whole model on every rank (the base: no process group needed); subclasses override what differs."""

    name: ClassVar[str]
    casts_itself: ClassVar[bool] = False  # mixed precision by its own policy: no master weights, no autocast
    fused_adamw: ClassVar[bool] = True  # AdamW's fused CUDA kernel can take the parameters
    lora: bool = False  # the model is a PEFT model: state dicts merge the adapters in

    def wrap(
        self,
        model: torch.nn.Module,
        device: torch.device,
        dtype: torch.dtype,
        keep_whole: set[torch.nn.Parameter],
    ) -> torch.nn.Module:
        """The model (on `device`) as the strategy trains it, computing in `dtype`; `keep_whole` (a frozen
        vision tower) is never sharded."""
        return model

    def unwrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module under the strategy's wrapper (the PEFT or HF model)."""
        return model

    def no_sync(self, model: torch.nn.Module, sync: bool) -> contextlib.AbstractContextManager[Any]:
        """Context for one micro-batch's backward; `sync` False accumulates gradients without a collective."""
        return contextlib.nullcontext()

    def full_state_dict(
        self, model: torch.nn.Module, master: MasterWeights | None
    ) -> dict[str, torch.Tensor]:
        """Full weights in memory names on CPU (every rank calls; FSDP2 gives rank 0 the tensors)."""
        module = self.unwrap(model)
        if self.lora:
            return _merged_lora_state_dict(module)
        by_storage = master.by_storage() if master else {}  # the fp32 master copies, not their bf16 rounding
        return {
            k: by_storage.get(v.data_ptr(), v).detach().cpu().clone() for k, v in module.state_dict().items()
        }

    def load_weights(self, model: torch.nn.Module, sd: dict[str, torch.Tensor], d: Path) -> None:
        """Weights from a checkpoint directory `d` whose full state dict is `sd` (LoRA: its adapter file)."""
        module = self.unwrap(model)
        if self.lora:
            from peft import set_peft_model_state_dict
            from safetensors.torch import load_file

            set_peft_model_state_dict(module, load_file(str(d / ADAPTER_DIR / "adapter_model.safetensors")))
        else:
            module.load_state_dict(sd, strict=False)

    def save_adapter(self, model: torch.nn.Module, d: Path) -> None:
        """LoRA: the PEFT adapter under `d`, beside the merged weights (rank 0 calls)."""
        if self.lora:
            self.unwrap(model).save_pretrained(d / ADAPTER_DIR)

    def optimizer_state(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
        """This rank's optimizer state, as `load_optimizer_state` takes it back."""
        return optimizer.state_dict()

    def load_optimizer_state(
        self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any]
    ) -> None:
        optimizer.load_state_dict(state)


@dataclass
class NoStrategy(Strategy):
    """One process, no process group."""

    name: ClassVar[str] = "none"


@dataclass
class DDPStrategy(Strategy):
    """DistributedDataParallel: a replica per rank, gradients all-reduced on the last micro-batch."""

    name: ClassVar[str] = "ddp"

    def wrap(
        self,
        model: torch.nn.Module,
        device: torch.device,
        dtype: torch.dtype,
        keep_whole: set[torch.nn.Parameter],
    ) -> torch.nn.Module:
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[0] if device.type == "cuda" else None)

    def unwrap(self, model: torch.nn.Module) -> torch.nn.Module:
        return model.module

    def no_sync(self, model: torch.nn.Module, sync: bool) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext() if sync else model.no_sync()


@dataclass
class FSDP2Strategy(Strategy):
    """FSDP2 (`fully_shard`): each transformer block sharded over ranks, fp32 shards computing in `dtype`.

    Its state dicts are full (gathered to rank 0) for weights and sharded per rank for the optimizer; with LoRA
    the full state dict keeps PEFT's names and unmerged adapters (the whole-model strategies merge them)."""

    name: ClassVar[str] = "fsdp2"
    casts_itself: ClassVar[bool] = True
    fused_adamw: ClassVar[bool] = False

    def wrap(
        self,
        model: torch.nn.Module,
        device: torch.device,
        dtype: torch.dtype,
        keep_whole: set[torch.nn.Parameter],
    ) -> torch.nn.Module:
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        mp = MixedPrecisionPolicy(param_dtype=dtype, reduce_dtype=torch.float32)
        # a frozen vision tower stays whole on every rank (no collectives: ranks' cache misses differ)
        for layer in _transformer_blocks(model):
            if not keep_whole.intersection(layer.parameters()):
                fully_shard(layer, mp_policy=mp)
        fully_shard(model, mp_policy=mp, ignored_params=keep_whole or None)
        return model

    def no_sync(self, model: torch.nn.Module, sync: bool) -> contextlib.AbstractContextManager[Any]:
        model.set_requires_gradient_sync(sync)
        return contextlib.nullcontext()

    def full_state_dict(
        self, model: torch.nn.Module, master: MasterWeights | None
    ) -> dict[str, torch.Tensor]:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))

    def load_weights(self, model: torch.nn.Module, sd: dict[str, torch.Tensor], d: Path) -> None:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

        set_model_state_dict(model, sd, options=StateDictOptions(full_state_dict=True, strict=False))

    def optimizer_state(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
        from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

        return get_optimizer_state_dict(model, optimizer)

    def load_optimizer_state(
        self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any]
    ) -> None:
        from torch.distributed.checkpoint.state_dict import set_optimizer_state_dict

        set_optimizer_state_dict(model, optimizer, state)


STRATEGIES: dict[str, type[Strategy]] = {s.name: s for s in (NoStrategy, DDPStrategy, FSDP2Strategy)}


def make_strategy(name: str, *, lora: bool = False) -> Strategy:
    """The strategy called `name` (one of `STRATEGIES`; `auto` is resolved first by `resolve_strategy`)."""
    if name not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {name!r}")
    return STRATEGIES[name](lora=lora)


def _merged_lora_state_dict(module: Any) -> dict[str, torch.Tensor]:
    """The base model's names and weights with the adapters merged in: W' = W + (alpha / r) B A."""
    module.merge_adapter()
    try:
        return {
            k.replace("base_model.model.", "").replace(".base_layer", ""): v.detach().cpu().clone()
            for k, v in module.state_dict().items()
            if "lora_" not in k
        }
    finally:
        module.unmerge_adapter()


def _transformer_blocks(model: torch.nn.Module) -> list[torch.nn.Module]:
    """Decoder layers and vision blocks: the units FSDP2 shards one by one."""
    names = ("Qwen2_5_VLDecoderLayer", "Qwen2_5_VLVisionBlock", "Qwen2VLDecoderLayer", "Qwen2VLVisionBlock")
    return [m for m in model.modules() if type(m).__name__ in names]
