"""Learner configuration: one typed model per concern, every default defined here once."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from agentrl.config import StrictModel
from agentrl.launch.placement import CustomResources
from agentrl.launch.resources import INFER_BYTES_PER_PARAM, TRAIN_BYTES_PER_PARAM, Demand, GiB


class OptimConfig(StrictModel):
    lr: float = 1e-3  # from-scratch tiny model; a pretrained 7B wants ~1e-6..1e-5
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    warmup_steps: int = 20
    min_lr_ratio: float = 0.1  # cosine decays to lr * min_lr_ratio
    grad_clip: float = 1.0


class LoraSettings(StrictModel):
    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.0
    target_modules: list[str] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class LearnerConfig(StrictModel):
    """Where and how the model is trained."""

    world_size: int = 1  # Ray actors in the torch.distributed group
    num_cpus_per_worker: float = 1.0
    num_gpus_per_worker: float = 0.0  # 1 on GPU clusters
    memory_gb_per_worker: float = 0.0  # RAM Ray reserves for each rank (0: none reserved, Ray packs freely)
    # Ray custom resources each rank asks for (in its bundle too), pinning ranks to the nodes declaring them
    # (e.g. {"learner_node": 0.01}; README "Running on a cluster")
    resources: CustomResources = {}
    backend: Literal["auto", "gloo", "nccl"] = "auto"  # auto: nccl on GPU, gloo on CPU
    strategy: Literal["auto", "fsdp2", "none"] = "auto"  # auto: FSDP2 when world_size > 1
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # auto: bf16 on GPU, fp32 on CPU
    # bf16 on GPU keeps bf16 parameters and fp32 master weights in the optimizer (strategy none or DDP;
    # FSDP2 has its own policy); false: fp32 parameters with bf16 autocast
    master_weights: bool = True
    activation_checkpointing: bool = False
    freeze_vision: bool = False  # no gradient through the vision tower; its features cached per screenshot
    fast_vision_attention: bool = True  # one attention call per window length, not per window
    packing: bool = True  # micro-batches as one padding-free row (attention within each sample)
    micro_batch_tokens: int = 0  # > 0: micro-batches by this token budget instead of micro_batch_size
    cache_mb: int = 2048  # processed screenshots and (frozen) vision features kept per rank, LRU
    local: bool = False  # run the single worker in this process (no Ray): debugging and tests
    seed: int = 0
    lora: LoraSettings = LoraSettings()

    @model_validator(mode="after")
    def _check(self) -> LearnerConfig:
        if self.world_size < 1:
            raise ValueError("world_size must be >= 1")
        if self.local and self.world_size != 1:
            raise ValueError("local=true needs world_size=1")
        if self.micro_batch_tokens < 0 or self.cache_mb < 0:
            raise ValueError("micro_batch_tokens and cache_mb must be >= 0")
        return self


class BatchConfig(StrictModel):
    global_batch_size: int = 32  # samples per optimizer step, over all ranks
    micro_batch_size: int = 8  # samples per forward/backward on one rank (grad accumulation = derived)
    max_length: int = 2048  # samples longer than this (after image expansion) are dropped, counted

    @model_validator(mode="after")
    def _check(self) -> BatchConfig:
        if self.micro_batch_size < 1 or self.global_batch_size < self.micro_batch_size:
            raise ValueError("need 1 <= micro_batch_size <= global_batch_size")
        return self


class CheckpointConfig(StrictModel):
    save_every_steps: int = 100
    keep_last: int = 2
    save_final: bool = True


def learner_demand(name: str, cfg: LearnerConfig, params: int | None, train: bool = True) -> list[Demand]:
    """`world_size` ranks; on CPUs the group holds at least the training state, spread over its ranks."""
    if cfg.local:  # runs in the driver's process, outside Ray's accounting
        return []
    per_param = TRAIN_BYTES_PER_PARAM if train else INFER_BYTES_PER_PARAM
    memory = params * per_param / cfg.world_size if params and not cfg.num_gpus_per_worker else 0.0
    memory = max(memory, cfg.memory_gb_per_worker * GiB)  # what Ray reserves, when more than the floor
    key = f"{name}.world_size x {name}.num_cpus_per_worker/num_gpus_per_worker"
    per = (cfg.num_cpus_per_worker, cfg.num_gpus_per_worker, memory, dict(cfg.resources))
    return [Demand(name, key, cfg.world_size, *per)]
