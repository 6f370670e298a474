import torch, sys
from transformers import BertForSequenceClassification, BertTokenizer
m = BertForSequenceClassification.from_pretrained("/tmp/runs/tiny-hf").eval()
tok = BertTokenizer("/tmp/runs/tiny-hf/vocab.txt", do_lower_case=True)
rows = [l.rstrip("\n").split("\t") for l in open("/work/shared/data/glue/SST-2/dev.tsv", encoding="utf-8")][1:]
correct = 0
with torch.no_grad():
    for i in range(0, len(rows), 64):
        chunk = rows[i:i+64]
        enc = tok([r[0] for r in chunk], padding=True, truncation=True, max_length=64, return_tensors="pt")
        pred = m(**enc).logits.argmax(-1)
        correct += sum(int(p) == int(r[1]) for p, r in zip(pred, chunk))
print(f"transformers SST-2 dev accuracy {correct/len(rows):.4f} ({correct}/{len(rows)})")
