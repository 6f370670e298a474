"""PyTorch twin of `swiftnas bench model`: the same BERT-tiny MLM training step and inference.

4 post-LN layers, hidden 256, 4 heads, FFN 1024 (GELU, erf form), seq 128, batch 32, vocab 30522,
dropout 0.1, MLM logits only at the ~15 % masked positions (transform + tied decoder + bias), AdamW.
The same step and inference also run under bf16 autocast (`torch.autocast("cpu", torch.bfloat16)`, the
fastest PyTorch path on a CPU with AVX512_BF16), and inference with the Linears dynamically quantized
to int8 (`torch.ao.quantization.quantize_dynamic`).
Prints one JSON line: {"step": s, "infer": s, "peakMB": MB, "step_autocast": s, "infer_autocast": s,
"infer_quantize_dynamic": s}. Exits 3 when torch does not import.
"""
import argparse, json, math, statistics, sys, time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except Exception:
    sys.exit(3)

V, P, H, L, HEADS, FFN, B, T = 30522, 512, 256, 4, 4, 1024, 32, 128


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(H, H) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(H, eps=1e-12), nn.LayerNorm(H, eps=1e-12)
        self.fc1, self.fc2 = nn.Linear(H, FFN), nn.Linear(FFN, H)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        b, t, _ = x.shape
        d = H // HEADS
        split = lambda y: y.view(b, t, HEADS, d).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1)
        c = (self.drop(a) @ v).transpose(1, 2).reshape(b, t, H)
        x = self.ln1(x + self.drop(self.o(c)))
        return self.ln2(x + self.drop(self.fc2(F.gelu(self.fc1(x)))))


class BertTiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.word, self.pos, self.segment = nn.Embedding(V, H), nn.Embedding(P, H), nn.Embedding(2, H)
        self.ln = nn.LayerNorm(H, eps=1e-12)
        self.drop = nn.Dropout(0.1)
        self.layers = nn.ModuleList(Layer() for _ in range(L))
        self.dense, self.hln = nn.Linear(H, H), nn.LayerNorm(H, eps=1e-12)
        self.bias = nn.Parameter(torch.zeros(V))

    def encode(self, ids):
        t = ids.shape[1]
        x = self.word(ids) + self.pos.weight[:t] + self.segment.weight[0]
        x = self.drop(self.ln(x))
        for layer in self.layers:
            x = layer(x)
        return x

    def mlm_loss(self, ids, positions, labels):
        h = self.encode(ids).reshape(-1, H)[positions]
        h = self.hln(F.gelu(self.dense(h)))
        return F.cross_entropy(h @ self.word.weight.t() + self.bias, labels)


def median_time(fn, warmup, runs):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = BertTiny()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    ids = torch.randint(0, V, (B, T))
    positions = torch.nonzero(torch.rand(B * T) < 0.15).squeeze(1)
    labels = ids.reshape(-1)[positions]

    def step():
        model.train()
        loss = model.mlm_loss(ids, positions, labels)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    def infer():
        model.eval()
        with torch.no_grad():
            model.encode(ids)

    def autocast(fn):
        def run():
            with torch.autocast("cpu", dtype=torch.bfloat16):
                fn()
        return run

    step_s = median_time(step, args.warmup, args.runs)
    infer_s = median_time(infer, args.warmup, args.runs)
    step_bf16 = median_time(autocast(step), args.warmup, args.runs)
    infer_bf16 = median_time(autocast(infer), args.warmup, args.runs)
    quantized = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    quantized.eval()

    def infer_int8():
        with torch.no_grad():
            quantized.encode(ids)

    infer_q = median_time(infer_int8, args.warmup, args.runs)
    # VmHWM of this address space (ru_maxrss would also count the parent's peak across spawn + exec).
    with open("/proc/self/status") as f:
        peak = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024.0
    print(json.dumps({"step": step_s, "infer": infer_s, "peakMB": peak, "step_autocast": step_bf16,
                      "infer_autocast": infer_bf16, "infer_quantize_dynamic": infer_q}))


if __name__ == "__main__":
    main()
