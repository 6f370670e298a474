"""SST-2 dev accuracy of a `swiftnas export --to hf` folder in Hugging Face transformers.

usage: python hf-check-sst2.py EXPORT_DIR [GLUE_SST2_DEV_TSV]   (default: ../shared/data/glue/SST-2/dev.tsv)
"""
import sys
import torch
from transformers import BertForSequenceClassification, BertTokenizer

export = sys.argv[1]
dev = sys.argv[2] if len(sys.argv) > 2 else "../shared/data/glue/SST-2/dev.tsv"
model = BertForSequenceClassification.from_pretrained(export).eval()
tokenizer = BertTokenizer(f"{export}/vocab.txt", do_lower_case=True)
rows = [line.rstrip("\n").split("\t") for line in open(dev, encoding="utf-8")][1:]
correct = 0
with torch.no_grad():
    for i in range(0, len(rows), 64):
        chunk = rows[i:i + 64]
        enc = tokenizer([r[0] for r in chunk], padding=True, truncation=True, max_length=64, return_tensors="pt")
        predictions = model(**enc).logits.argmax(-1)
        correct += sum(int(p) == int(r[1]) for p, r in zip(predictions, chunk))
print(f"transformers SST-2 dev accuracy {correct / len(rows):.4f} ({correct}/{len(rows)})")
