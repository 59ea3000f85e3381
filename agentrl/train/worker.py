"""One learner rank: a model (optionally LoRA, activation checkpointing, FSDP2 or DDP), AdamW and a schedule.

The same class runs in-process (world size 1, `local: true`) or as a Ray actor in a torch.distributed group
(gloo on CPU, NCCL on GPU). A step receives this rank's share of the global batch and the global number of
trainable tokens, so the update equals the single-process update on the whole batch.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agentrl.data.samples import TrainSample
from agentrl.models.multimodal import mm_token_type_ids
from agentrl.models.vision_cache import FeatureCache
from agentrl.train.batch import (
    Batch,
    Expanded,
    collate,
    collate_packed,
    expand_sample,
    micro_batches,
    token_micro_batches,
)
from agentrl.train.config import LearnerConfig, OptimConfig
from agentrl.train.objectives import get_objective
from agentrl.train.precision import MasterWeights
from agentrl.train.schedule import warmup_cosine
from agentrl.train.strategy import Strategy, make_strategy, resolve_strategy

PROCESSOR_FILES = ("tokenizer.json", "tokenizer_config.json", "processor_config.json", "chat_template.jinja",
                   "preprocessor_config.json", "video_preprocessor_config.json", "special_tokens_map.json",
                   "generation_config.json", "agentrl_model.json")  # fmt: skip


def resolve_precision(cfg: LearnerConfig, device: torch.device) -> torch.dtype:
    if cfg.precision == "bf16" or (cfg.precision == "auto" and device.type == "cuda"):
        return torch.bfloat16
    return torch.float32


class LearnerWorker:
    def __init__(
        self, model_path: str, cfg: LearnerConfig, optim: OptimConfig, total_steps: int, rank: int = 0
    ) -> None:
        self.model_path, self.cfg, self.optim_cfg, self.total_steps = str(model_path), cfg, optim, total_steps
        self.rank, self.world = rank, cfg.world_size
        self.model: Any = None
        self.strategy: Strategy = make_strategy(resolve_strategy(cfg), lora=cfg.lora.enabled)
        self.master: MasterWeights | None = None
        self.rendezvous: tuple[str, int] | None = None
        self.step = 0

    # -- setup -----------------------------------------------------------------------------------------
    def address(self) -> tuple[str, int]:
        """This node's IP and a free port (rank 0 hosts the process group's rendezvous)."""
        import socket

        import ray

        with socket.socket() as s:
            s.bind(("", 0))
            port = s.getsockname()[1]
        return ray.util.get_node_ip_address(), port

    def setup(self, master: tuple[str, int] | None = None) -> dict[str, Any]:
        import torch.distributed as dist

        self.rendezvous = master
        threads = max(1, int(self.cfg.num_cpus_per_worker))
        if not self.cfg.local:
            torch.set_num_threads(threads)
        use_cuda = self.cfg.num_gpus_per_worker > 0 and torch.cuda.is_available()
        self.device = torch.device("cuda", 0) if use_cuda else torch.device("cpu")
        if self.world > 1:
            assert self.rendezvous is not None
            os.environ.update(MASTER_ADDR=self.rendezvous[0], MASTER_PORT=str(self.rendezvous[1]))
            backend = self.cfg.backend if self.cfg.backend != "auto" else ("nccl" if use_cuda else "gloo")
            dist.init_process_group(backend, rank=self.rank, world_size=self.world)
        self._seed(self.cfg.seed)
        self.dtype = resolve_precision(self.cfg, self.device)
        self._build_model()
        return {
            "rank": self.rank,
            "device": str(self.device),
            "strategy": self.strategy.name,
            "dtype": str(self.dtype),
            "trainable_parameters": sum(p.numel() for p in self.model.parameters() if p.requires_grad),
        }

    def _seed(self, seed: int) -> None:
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)

    def _build_model(self) -> None:
        from agentrl.models.attention import install_packed_attention, install_vision_attention
        from agentrl.models.loading import load_model, load_processor

        self.processor = load_processor(self.model_path)
        # the tokenizer/processor files as they are now: a checkpoint saves the ones the model trained with,
        # even if the start directory is rewritten meanwhile (a rebuilt base with another vocabulary)
        self.processor_files = processor_files(self.model_path)
        model = load_model(self.model_path, dtype="float32")
        self.config = model.config
        self.core = _find_module(model, "Qwen2_5_VLModel", "Qwen2VLModel")  # vision tower + language model
        if self.cfg.fast_vision_attention:
            install_vision_attention(model)
        if self.cfg.packing:
            install_packed_attention(model)
        if self.cfg.freeze_vision:
            for p in self.core.visual.parameters():
                p.requires_grad_(False)
        cache_bytes = self.cfg.cache_mb * 2**20 // 2
        self.pixels = FeatureCache(cache_bytes)  # processed screenshots by content
        self.vision = FeatureCache(cache_bytes)  # frozen vision features by content
        self.image_token_id, self.video_token_id = model.config.image_token_id, model.config.video_token_id
        tok = self.processor.tokenizer
        self.pad_id = (
            tok.pad_token_id if tok.pad_token_id is not None else tok.convert_tokens_to_ids("<|im_end|>")
        )
        if self.cfg.activation_checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            model.config.use_cache = False
        if self.cfg.lora.enabled:
            from peft import LoraConfig, get_peft_model

            lc = self.cfg.lora
            exclude = {"exclude_modules": r".*visual.*"} if self.cfg.freeze_vision else {}
            model = get_peft_model(
                model,
                LoraConfig(r=lc.r, lora_alpha=lc.alpha, lora_dropout=lc.dropout,
                           target_modules=lc.target_modules, **exclude),
            )  # fmt: skip
        model = self._wrap_model(model)
        model.to(self.device).train()
        use_master = (
            self.cfg.master_weights and not self.strategy.casts_itself and self.dtype != torch.float32
        )
        if use_master:  # bf16 parameters, fp32 master weights in the optimizer (agentrl.train.precision)
            model.to(self.dtype)
            self._trainable_names = [n for n, p in model.named_parameters() if p.requires_grad]
            self.master = MasterWeights([p for p in model.parameters() if p.requires_grad])
        frozen = set(self.core.visual.parameters()) if self.cfg.freeze_vision else set()
        model = self.strategy.wrap(model, self.device, self.dtype, keep_whole=frozen)
        self.model = model
        params = self.master.master if self.master else [p for p in model.parameters() if p.requires_grad]
        o = self.optim_cfg
        fused = {"fused": True} if self.device.type == "cuda" and self.strategy.fused_adamw else {}
        self.optimizer = torch.optim.AdamW(
            params, lr=o.lr, betas=o.betas, eps=o.eps, weight_decay=o.weight_decay, **fused
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, warmup_cosine(o.warmup_steps, self.total_steps, o.min_lr_ratio)
        )

    def _wrap_model(self, model: Any) -> Any:
        """Subclasses put a head on the model here (the critic's value head)."""
        return model

    # -- training ----------------------------------------------------------------------------------------
    @property
    def _autocast(self) -> bool:
        """fp32 parameters computing in bf16 (no master weights, not FSDP2, which casts by its policy)."""
        return not self.strategy.casts_itself and self.dtype != torch.float32 and self.master is None

    def _inputs(self, batch: Batch) -> dict[str, Any]:
        """The model's keyword arguments for a batch; with a frozen vision tower the images' features come
        from the cache (computed once per screenshot) instead of pixel values."""
        inputs = batch.model_inputs(self.device, torch.float32 if self._autocast else self.dtype)
        if self.cfg.freeze_vision and inputs.get("pixel_values") is not None:
            from transformers.modeling_outputs import BaseModelOutputWithPooling

            features = self._image_features(batch, inputs.pop("pixel_values"), inputs["image_grid_thw"])
            inputs["mm_encoder_outputs"] = {"image": BaseModelOutputWithPooling(pooler_output=features)}
        return inputs

    def _image_features(
        self, batch: Batch, pixels: torch.Tensor, grid: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """Merged vision features per image (the rows that replace its pads), from the cache or the tower."""
        rows = grid.prod(-1).tolist()
        starts = np.cumsum([0, *rows]).tolist()

        @torch.no_grad()
        def compute(indices: list[int]) -> list[torch.Tensor]:
            pv = torch.cat([pixels[starts[i] : starts[i + 1]] for i in indices])
            autocast = self._autocast or self.strategy.casts_itself and self.dtype != torch.float32
            with torch.autocast(
                self.device.type, dtype=self.dtype, enabled=autocast
            ):  # FSDP2: tower unsharded
                out = self.core.get_image_features(pv, grid[indices], return_dict=True).pooler_output
            return [f.detach() for f in out]

        return tuple(self.vision.lookup(batch.image_keys, compute))

    def _forward(self, batch: Any, keep: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, T, V), or (B, len(keep), V) at the positions `keep` only (transformers' logits_to_keep)."""
        extra = {} if keep is None else {"logits_to_keep": keep.to(self.device)}
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self._autocast):
            out = self.model(**self._inputs(batch), use_cache=False, **extra)
        return out.logits

    # -- batching ------------------------------------------------------------------------------------------
    def _expand(self, samples: list[TrainSample], extras: list[Any] | None = None) -> list[Expanded]:
        ex = extras or [None] * len(samples)
        return [
            expand_sample(s, self.processor, self.image_token_id, ex[i], pixels=self.pixels)
            for i, s in enumerate(samples)
        ]

    def _groups(self, expanded: list[Expanded], micro_batch_size: int) -> list[list[Expanded]]:
        if self.cfg.micro_batch_tokens > 0:
            return token_micro_batches(expanded, self.cfg.micro_batch_tokens, self.cfg.packing)
        return micro_batches(expanded, max(1, micro_batch_size))

    def _collate(self, group: list[Expanded]) -> Batch:
        if self.cfg.packing:
            return collate_packed(group, self.image_token_id, self.video_token_id, self._positions)
        return collate(group, self.pad_id, self.image_token_id, self.video_token_id)

    def _positions(self, e: Expanded) -> torch.Tensor:
        """A sample's (3, len) M-RoPE positions, as the model computes them for the sample alone."""
        n = len(e.ids)
        if e.grid is None:
            return torch.arange(n).expand(3, n)
        ids = torch.tensor(e.ids)[None]
        pos, _ = self.core.get_rope_index(
            ids, mm_token_type_ids=mm_token_type_ids(ids, self.image_token_id, self.video_token_id),
            image_grid_thw=e.grid, attention_mask=torch.ones_like(ids),
        )  # fmt: skip
        return pos[:, 0].cpu()

    def _num_micro(self, groups: int, num_micro: int | None) -> int | None:
        """Every rank runs as many micro-batches as the busiest one (token budgets differ per rank)."""
        if self.world == 1 or self.cfg.micro_batch_tokens <= 0:
            return num_micro
        import torch.distributed as dist

        n = torch.tensor([groups], device=self.device)
        dist.all_reduce(n, op=dist.ReduceOp.MAX)
        return int(n.item())

    def _loss_inputs(self, batch: Batch) -> tuple[torch.Tensor, Batch]:
        """What the objective gets: logits at the trained positions only and the matching view of the batch
        (the LM head and log-softmax skip prompt and image positions, the bulk of a GUI sample)."""
        keep = batch.trained_positions()
        return self._forward(batch, keep), batch.targets_view(keep)

    def train_step(
        self,
        samples: list[TrainSample],
        global_trainable: float,
        micro_batch_size: int,
        objective: str = "nll",
        extras: list[dict[str, list[float]]] | None = None,
        num_micro: int | None = None,
        objective_kwargs: dict[str, Any] | None = None,
    ) -> dict[str, float]:
        """One optimizer step on this rank's samples; loss normalised by the global trainable-token count.

        `num_micro` (the same on every rank) pads this rank with zero-weight micro-batches, because sharded
        models need every rank in every forward.
        """
        t0 = time.perf_counter()
        fn = get_objective(objective)
        expanded = self._expand(samples, extras)
        groups = self._groups(expanded, micro_batch_size)
        num_micro = self._num_micro(len(groups), num_micro)
        while num_micro is not None and len(groups) < num_micro:
            groups.append([_zero_weight(expanded[0])])
        self.optimizer.zero_grad(set_to_none=True)
        metrics: dict[str, float] = {}
        tokens = 0
        scale = self.world / max(global_trainable, 1.0)  # ranks' gradients are averaged: undo it
        for i, group in enumerate(groups):
            batch = self._collate(group)
            tokens += batch.num_tokens if batch.num_trainable else 0
            with self.strategy.no_sync(self.model, sync=i == len(groups) - 1):  # all-reduce on the last only
                loss_sum, m = fn(*self._loss_inputs(batch), **(objective_kwargs or {}))
                (loss_sum * scale).backward()
            for k, v in m.items():
                metrics[k] = metrics.get(k, 0.0) + v
        if self.master:
            self.master.grads_to_master()
        trained = (
            self.master.master if self.master else [p for p in self.model.parameters() if p.requires_grad]
        )
        grad_norm = torch.nn.utils.clip_grad_norm_(trained, self.optim_cfg.grad_clip)
        if hasattr(grad_norm, "full_tensor"):
            grad_norm = grad_norm.full_tensor()
        grad_norm = float(grad_norm)
        if not np.isfinite(grad_norm):  # NaN/inf gradients: skip the update, report it
            self.optimizer.zero_grad(set_to_none=True)
            return {**metrics, "grad_norm": grad_norm, "skipped": 1.0, "step_s": time.perf_counter() - t0}
        self.optimizer.step()
        if self.master:
            self.master.master_to_params()
        self.scheduler.step()
        self.step += 1
        return {
            **metrics,
            "grad_norm": grad_norm,
            "lr": self.scheduler.get_last_lr()[0],
            "batch_tokens": float(tokens),
            "step_s": time.perf_counter() - t0,
            "skipped": 0.0,
        }

    @torch.no_grad()
    def logprobs(
        self, samples: list[TrainSample], micro_batch_size: int, temperature: float = 1.0
    ) -> list[list[float]]:
        """Per-token logprobs (of softmax(z / temperature)) aligned with each sample's *unexpanded* input_ids
        (PPO old/reference logprobs)."""
        from agentrl.train.losses import token_logprobs

        return self.per_token(
            samples,
            micro_batch_size,
            lambda batch: token_logprobs(self._forward(batch), batch.input_ids.to(self.device), temperature),
        )

    @torch.no_grad()
    def per_token(
        self, samples: list[TrainSample], micro_batch_size: int, fn: Callable[[Batch], torch.Tensor]
    ) -> list[list[float]]:
        """`fn(batch)` -> (B, T) in eval mode over length-sorted micro-batches, each row cut to its own length
        and aligned with its sample's unexpanded input_ids (image pads get 0)."""
        self.model.eval()
        expanded = self._expand(samples)
        index = {id(e): i for i, e in enumerate(expanded)}
        out: list[list[float]] = [[] for _ in samples]
        try:
            for mb in self._groups(expanded, micro_batch_size):  # sorted by length: less padding
                batch = self._collate(mb)
                values = fn(batch).float().cpu()
                for row, e in enumerate(mb):  # a sample's values: its row's first len(e.ids) (padded)
                    i = index[id(e)]  # or its segment of the one packed row
                    own = values[0, batch.cu_seqlens[row] : batch.cu_seqlens[row + 1]] if batch.packed else (
                        values[row, : len(e.ids)]
                    )  # fmt: skip
                    own[:1] = 0.0  # nothing precedes a sample's first token (packed: not the previous sample)
                    out[i] = _unexpand(own.tolist(), samples[i].input_ids, e.ids, self.image_token_id)
        finally:
            self.model.train()
        return out

    # -- weights and checkpoints -------------------------------------------------------------------------
    def full_state_dict(self) -> dict[str, torch.Tensor]:
        """Merged full weights in memory names (every rank must call; only rank 0 gets tensors)."""
        sd = self.strategy.full_state_dict(self.model, self.master)  # master weights: the fp32 copies
        return {k: v.float() for k, v in sd.items()} if self.rank == 0 else {}

    def save(self, directory: str, state: dict[str, Any]) -> None:
        """HF weights (rank 0) + every rank's optimizer/scheduler/RNG state; COMPLETE marks a finished save."""
        import torch.distributed as dist

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        sd = self.full_state_dict()
        if self.rank == 0:
            self._write_weights(sd, d)
            self.strategy.save_adapter(self.model, d)
        torch.save(self._train_state(), d / f"train_state_rank{self.rank}.pt")
        if self.world > 1:
            dist.barrier()
        if self.rank == 0:
            (d / "state.json").write_text(
                json.dumps({**state, "step": self.step, "world_size": self.world}, indent=2)
            )
            (d / "COMPLETE").write_text("")

    def _write_weights(self, sd: dict[str, torch.Tensor], d: Path) -> None:
        _save_hf(self.config, sd, d, self.processor_files)

    def _read_weights(self, d: Path) -> dict[str, torch.Tensor]:
        from agentrl.models.weights import load_state_dict_from_dir

        return load_state_dict_from_dir(d)

    def _train_state(self) -> dict[str, Any]:
        return {
            "optimizer": self.strategy.optimizer_state(self.model, self.optimizer),
            "scheduler": self.scheduler.state_dict(),
            "step": self.step,
            "rng": {
                "torch": torch.get_rng_state(),
                "python": random.getstate(),
                "numpy": np.random.get_state(),
            },
        }

    def load(self, directory: str) -> None:
        """Restore weights, optimizer, scheduler, RNG and step from a checkpoint written by `save`."""
        d = Path(directory)
        sd = self._read_weights(d)
        self.strategy.load_weights(self.model, sd, d)
        if self.master:  # fp32 master weights from the checkpoint's fp32 values where it has them
            self.master.params_to_master()
            named = dict(zip(self._trainable_names, self.master.master, strict=True))
            with torch.no_grad():
                for name, m in named.items():
                    if name in sd:
                        m.copy_(sd[name])
        ts = torch.load(d / f"train_state_rank{self.rank}.pt", weights_only=False)
        self.strategy.load_optimizer_state(self.model, self.optimizer, ts["optimizer"])
        self.scheduler.load_state_dict(ts["scheduler"])
        self.step = ts["step"]
        torch.set_rng_state(ts["rng"]["torch"])
        random.setstate(ts["rng"]["python"])
        np.random.set_state(ts["rng"]["numpy"])

    def shutdown(self) -> None:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def _zero_weight(e: Any) -> Any:
    """A copy of an expanded sample that contributes nothing (mask 0): keeps ranks in step."""
    from agentrl.train.batch import Expanded

    extras = {k: [0.0] * len(v) for k, v in e.extras.items()}
    return Expanded(e.ids, [0.0] * len(e.mask), e.pixel_values, e.grid, extras, e.image_keys)


def _find_module(model: torch.nn.Module, *names: str) -> Any:
    """The first submodule whose class is one of `names` (the VLM core under heads and adapters)."""
    for m in model.modules():
        if type(m).__name__ in names:
            return m
    raise ValueError(f"model has no {' or '.join(names)} module")


def _unexpand(values: list[float], ids: list[int], expanded: list[int], image_token_id: int) -> list[float]:
    """Map per-token values of the expanded sequence back to the unexpanded ids (image pads get 0)."""
    out, j = [], 0
    for t in ids:
        if t == image_token_id:
            while j < len(expanded) and expanded[j] == image_token_id:
                j += 1
            out.append(0.0)
        else:
            out.append(values[j])
            j += 1
    return out


def processor_files(model_path: str) -> dict[str, bytes]:
    """The processor files of an HF directory, read into memory."""
    return {
        n: (Path(model_path) / n).read_bytes() for n in PROCESSOR_FILES if (Path(model_path) / n).exists()
    }


def _save_hf(config: Any, sd: dict[str, torch.Tensor], d: Path, files: dict[str, bytes]) -> None:
    """An HF directory transformers and vLLM load as they are: config, safetensors (disk names), processor."""
    from safetensors.torch import save_file

    from agentrl.models.weights import to_disk_names

    disk = to_disk_names(sd)
    if getattr(config, "tie_word_embeddings", False):
        disk.pop("lm_head.weight", None)
    config.save_pretrained(d)
    save_file(
        {k: v.contiguous() for k, v in disk.items()}, str(d / "model.safetensors"), metadata={"format": "pt"}
    )
    for name, data in files.items():
        if not (d / name).exists():
            (d / name).write_bytes(data)
