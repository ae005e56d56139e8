"""The PyTorch + PEFT side of bench/train-step.ts: the same fine-tuning step, timed the same way.

    python bench/pytorch/train_step.py [--model tiny|llama23m] [--method lora|dora] [--batch 8] [--seq 128]
        [--steps 6] [--warmup 2] [--threads 2] [--tokens FILE] [--json FILE]

Same configuration as the TypeScript side: LoRA r 8, alpha 16, dropout 0.05 on q,k,v,o,gate,up,down (DoRA: the
same with use_dora), AdamW lr 3e-3, weight decay 0.01, cosine schedule without warmup, gradient clipping at 1.0,
the shifted causal-LM loss over every position. `tiny` loads the embedded tiny LLaMA's weights from
packages/tiny-llama/weights; `llama23m` is a freshly initialised LLaMA (hidden 512, ffn 1376, 8 layers, 8 heads /
4 kv heads, vocabulary 259, untied head). Eager mode (no torch.compile), float32, `torch.set_num_threads(threads)`.
Attention is transformers' default implementation (sdpa), as a user would get it.

Prints one JSON object: median tokens/s over the steps after the warm-up, step seconds, peak RSS. A benchmark:
it asserts nothing about time.
"""

import argparse
import json
import math
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

LLAMA23M = dict(
    hidden_size=512,
    intermediate_size=1376,
    num_hidden_layers=8,
    num_attention_heads=8,
    num_key_value_heads=4,
    head_dim=64,
    vocab_size=259,
    max_position_embeddings=256,
    rms_norm_eps=1e-5,
    rope_theta=10000.0,
    hidden_act="silu",
    tie_word_embeddings=False,
    attention_bias=False,
    mlp_bias=False,
    attention_dropout=0.0,
    initializer_range=0.02,
    pad_token_id=256,
    bos_token_id=257,
    eos_token_id=258,
)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="tiny", choices=["tiny", "llama23m"])
    p.add_argument("--method", default="lora", choices=["lora", "dora"])
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tokens", default=None)
    p.add_argument("--json", default=None)
    a = p.parse_args()
    batch = a.batch or (8 if a.model == "tiny" else 4)

    try:
        import peft
        import torch
        import transformers
        from peft import LoraConfig, get_peft_model
        from transformers import LlamaConfig, LlamaForCausalLM, get_cosine_schedule_with_warmup
    except ImportError as e:  # the orchestrator reports this line
        print(json.dumps({"error": f"missing Python package: {e.name}"}))
        sys.exit(2)

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.model == "tiny":
        model = LlamaForCausalLM.from_pretrained(os.path.join(ROOT, "packages", "tiny-llama", "weights"))
    else:
        model = LlamaForCausalLM(LlamaConfig(**LLAMA23M))
    model.float()
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    cfg = LoraConfig(
        r=8, lora_alpha=16, lora_dropout=0.05, target_modules=targets, use_dora=a.method == "dora", task_type="CAUSAL_LM"
    )
    model = get_peft_model(model, cfg)
    model.train()

    total = a.warmup + a.steps
    if a.tokens:
        with open(a.tokens) as f:
            rows = [r[: a.seq] for r in json.load(f)]
    else:
        g = torch.Generator().manual_seed(0)
        rows = torch.randint(0, 256, (total * batch, a.seq), generator=g).tolist()
    if len(rows) < total * batch:
        raise SystemExit(f"need {total * batch} sequences, have {len(rows)}")
    data = torch.tensor(rows[: total * batch], dtype=torch.long)

    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=3e-3, weight_decay=0.01)
    sched = get_cosine_schedule_with_warmup(opt, num_warmup_steps=0, num_training_steps=total)
    seconds, losses = [], []
    for s in range(total):
        t0 = time.perf_counter()
        ids = data[s * batch : (s + 1) * batch]
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=ids)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(out.loss.item())  # the same per-step read as the Trainer's log
        seconds.append(time.perf_counter() - t0)

    timed = seconds[a.warmup :]
    toks = sorted(batch * a.seq / t for t in timed)
    m = len(toks) // 2
    median = toks[m] if len(toks) % 2 else (toks[m - 1] + toks[m]) / 2
    res = {
        "side": "pytorch",
        "backend": "cpu",
        "model": a.model,
        "batch": batch,
        "seq": a.seq,
        "method": a.method,
        "steps": a.steps,
        "warmup": a.warmup,
        "tokPerSec": median,
        "stepSeconds": [round(t, 4) for t in timed],
        "threads": a.threads,
        "attnImplementation": getattr(model.config, "_attn_implementation", None),
        "firstLoss": losses[0] if losses else math.nan,
        "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "versions": {"torch": torch.__version__, "peft": peft.__version__, "transformers": transformers.__version__},
        "loadAvgEnd": os.getloadavg()[0],
    }
    text = json.dumps(res)
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
