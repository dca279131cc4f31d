#!/usr/bin/env python3
"""bahdanau_example.py: the inputs of the README's alignment picture (bench/docs/bahdanau-alignment.png).

Fits a Bahdanau attention layer (the PyTorch seq2seq tutorial's BahdanauAttention: Wa, Ua, Va) so
that its soft alignment between fixed random encoder and decoder states reproduces the word
alignment of the example in Bahdanau et al. (2015), Figure 3 ("the agreement on the European
Economic Area ..." / "l' accord sur la zone économique européenne ..."), then writes

  bench/docs/bahdanau/weights.safetensors   Wa.weight [A, Dq], Wa.bias [A], Ua.weight [A, Dk], Ua.bias [A], Va.weight [1, A]
  bench/docs/bahdanau/enc.npy               encoder states [1, 13, Dk]
  bench/docs/bahdanau/dec.npy               decoder states [1, 14, Dq]

The picture itself is drawn by attn4j (README, "The attention layers"):
  java -jar bench/target/attn4j.jar run bahdanau --enc bench/docs/bahdanau/enc.npy --dec bench/docs/bahdanau/dec.npy \\
      --weights bench/docs/bahdanau/weights.safetensors --out /tmp/c.npy --alignment /tmp/a.npy
  java -jar bench/target/attn4j.jar plot --weights /tmp/a.npy --out bench/docs/bahdanau-alignment.png --src-tokens "..." --tgt-tokens "..."

  /usr/bin/python3 bench/golden/bahdanau_example.py   (numpy and torch; Debian: apt-get install python3-torch)
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_golden import write_safetensors  # noqa: E402

SRC = "the agreement on the European Economic Area was signed in August 1992 .".split()
TGT = "l' accord sur la zone économique européenne a été signé en août 1992 .".split()
# target position -> source position (the paper's Figure 3: the adjective-noun order is reversed)
ALIGN = [0, 1, 2, 3, 6, 5, 4, 7, 7, 8, 9, 10, 11, 12]


def main():
    torch.manual_seed(3)
    dk = dq = 32
    a = 24
    enc = torch.randn(1, len(SRC), dk)
    dec = torch.randn(1, len(TGT), dq)
    wa = torch.nn.Linear(dq, a)
    ua = torch.nn.Linear(dk, a)
    va = torch.nn.Linear(a, 1)
    opt = torch.optim.Adam(list(wa.parameters()) + list(ua.parameters()) + list(va.parameters()), lr=0.03)
    target = torch.tensor(ALIGN)
    for step in range(400):
        scores = va(torch.tanh(wa(dec)[:, :, None, :] + ua(enc)[:, None, :, :])).squeeze(-1)  # [1, Sq, Sk]
        loss = torch.nn.functional.cross_entropy(scores[0], target)
        if loss.item() < 0.35:  # stop while the alignment is still soft, as a trained model's is
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "docs", "bahdanau")
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "weights.safetensors"), {
        "Wa.weight": wa.weight, "Wa.bias": wa.bias, "Ua.weight": ua.weight, "Ua.bias": ua.bias, "Va.weight": va.weight})
    np.save(os.path.join(out, "enc.npy"), enc.numpy().astype(np.float32))
    np.save(os.path.join(out, "dec.npy"), dec.numpy().astype(np.float32))
    print("final cross-entropy %.3f; src tokens: %s; tgt tokens: %s" % (loss.item(), " ".join(SRC), " ".join(TGT)))


if __name__ == "__main__":
    main()
