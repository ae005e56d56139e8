"""Edge-case reference vectors for @peftjs/quant-nf4 from bitsandbytes' pure-torch reference ("default") kernels.

bitsandbytes is not on the package index here; a source checkout of bitsandbytes-foundation/bitsandbytes works:
    PYTHONPATH=<checkout> python scripts/make_edge_fixtures.py test/fixtures/edges.safetensors
Each case `<name>` stores `<name>.input`, `.packed`, `.absmax` (float32 scales as used), `.dequantized`, and for
double quant `.absmax_u8`, `.nested_absmax`, `.offset`; meta (JSON in the file metadata) gives shape, type, blocksize.
"""
import json, sys
import torch
from safetensors.torch import save_file
import bitsandbytes.functional as F

g = torch.Generator().manual_seed(1234)
t, meta = {}, {}

def case4(name, x, qt, bs, dq):
    p, st = F.quantize_4bit(x, blocksize=bs, quant_type=qt, compress_statistics=dq)
    t[name + '.input'] = x.contiguous()
    t[name + '.packed'] = p.contiguous()
    t[name + '.dequantized'] = F.dequantize_4bit(p, st).float().contiguous()
    if dq:
        t[name + '.absmax_u8'] = st.absmax.contiguous()
        t[name + '.nested_absmax'] = st.state2.absmax.float().contiguous()
        t[name + '.offset'] = st.offset.reshape(1).float()
        t[name + '.absmax'] = (F.dequantize_blockwise(st.absmax, st.state2) + st.offset).float().contiguous()
    else:
        t[name + '.absmax'] = st.absmax.float().contiguous()
    meta[name] = {'kind': '4bit', 'shape': list(x.shape), 'quant_type': qt, 'blocksize': bs, 'double_quant': dq}

# blocksize 32, odd count, ragged last block
case4('nf4_b32_odd', torch.randn(5, 29, generator=g), 'nf4', 32, False)
# an all-zero full block, a huge outlier, double quant
x = torch.randn(20, 40, generator=g); x.view(-1)[128:192] = 0; x[5, 3] = 50.0
case4('nf4_b64_zero_outlier_dq', x, 'nf4', 64, True)
# an all-zero trailing partial block (its absmax is clamped to 1e-38)
x = torch.randn(3, 50, generator=g); x.view(-1)[128:] = 0
case4('nf4_b64_zero_tail', x, 'nf4', 64, False)
# FP4 with exact zeros and an odd count (padding code)
x = torch.zeros(1, 65); x[0, 3] = -0.7; x[0, 64] = 0.001
case4('fp4_b64_zeros_odd', x, 'fp4', 64, False)
# more than 256 blocks: the nested 8-bit codes have a partial second block
case4('fp4_b32_nested_tail_dq', torch.randn(96, 100, generator=g) * 0.3, 'fp4', 32, True)
# large blocks, ragged
case4('nf4_b4096_dq', torch.randn(70, 70, generator=g), 'nf4', 4096, True)
case4('nf4_b2048_ragged', torch.randn(3, 1000, generator=g) * 4, 'nf4', 2048, False)
case4('fp4_b256', torch.randn(7, 80, generator=g), 'fp4', 256, False)

# LLM.int8 rows: an all-zero row, an outlier, values on rounding ties
x = torch.randn(6, 10, generator=g); x[2] = 0; x[4, 1] = 20.0; x[5] = torch.tensor([1.0, -1.0, 0.5, -0.5, 0.25, 2.0, -2.0, 0.0, 1.5, -1.5])
q, scb, _ = F.int8_vectorwise_quant(x.half())
t['int8_rows.input'] = x.contiguous()
t['int8_rows.weight_int8'] = q.contiguous()
t['int8_rows.SCB'] = scb.float().contiguous()
meta['int8_rows'] = {'kind': 'int8', 'shape': [6, 10]}

save_file(t, sys.argv[1], metadata={'cases': json.dumps(meta)})
print('wrote', len(meta), 'cases')
