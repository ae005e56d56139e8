"""Extra IA³ reference cases (GPT-2 Conv1D, BERT classification, regex targets, init_ia3_weights=False) made with
Hugging Face PEFT by the golden suite's own case writer (../shared/golden/make_golden.py), in the same layout.

  /path/to/venv/bin/python packages/ia3/scripts/make-ia3-cases.py packages/ia3/test/golden-cases

Needs torch, transformers and peft (the versions in ../shared/golden/README.md); never run by the tests.
"""
import os
import sys

out = os.path.abspath(sys.argv[1])
golden = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'shared', 'golden')
sys.path.insert(0, os.path.abspath(golden))
sys.argv = [sys.argv[0], out]
import make_golden as mg  # noqa: E402
from peft import IA3Config, TaskType  # noqa: E402

CASES = {
    # model_type defaults: c_attn (Conv1D, fan_in_fan_out corrected to True) and mlp.c_proj (feed-forward)
    'gpt2_ia3': ('gpt2', lambda: IA3Config(task_type=TaskType.CAUSAL_LM)),
    # defaults key/value/output.dense — 'output.dense' matches attention.output.dense too, both feed-forward;
    # SEQ_CLS adds the classifier to modules_to_save
    'bert_ia3_cls': ('bert', lambda: IA3Config(task_type=TaskType.SEQ_CLS)),
    # regexes for both lists; vectors keep their N(0, 1) draw (then randomised like every case)
    'llama_ia3_regex': ('llama', lambda: IA3Config(target_modules=r'.*\.(q_proj|o_proj|up_proj|gate_proj)',
                                                   feedforward_modules=r'.*\.(o_proj|up_proj)',
                                                   init_ia3_weights=False, task_type=TaskType.CAUSAL_LM)),
    # both c_proj layers targeted, only the MLP's is feed-forward (a suffix without a dot boundary)
    'gpt2_ia3_cproj': ('gpt2', lambda: IA3Config(target_modules=['c_proj', 'c_fc', 'mlp.c_proj'], feedforward_modules=['mlp.c_proj'],
                                                  task_type=TaskType.CAUSAL_LM)),
}

for name, (arch, mk) in CASES.items():
    mg.run_case(name, arch, mk)
