"""Load the adapters written by save-for-peft.ts in Python PEFT and compare logits with peftjs's."""
import json, os, sys

import torch
from transformers import AutoModelForCausalLM
from peft import PeftModel
out = sys.argv[1] if len(sys.argv) > 1 else 'peft-check'
base_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../../shared/golden/base/llama')
d = json.load(open(os.path.join(out, 'js-logits.json')))
ids = torch.tensor([d['ids']])
for name in ['prompt', 'ptuning', 'ptuning_lstm', 'prefix', 'prefix_proj']:
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    m = PeftModel.from_pretrained(base, os.path.join(out, name))
    m.eval()
    with torch.no_grad():
        logits = m(input_ids=ids).logits
    js = torch.tensor(d['out'][name]).reshape(d['out'][name + '_shape'])
    err = (logits - js).abs().max().item() / logits.abs().max().item()
    print(f'{name:14s} peft_type {m.peft_config["default"].peft_type.value:15s} logits {tuple(logits.shape)} js {tuple(js.shape)} rel max err {err:.2e}')
    assert err < 1e-5, name
