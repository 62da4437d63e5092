#!/usr/bin/env python3
"""Writes the per-example fixtures of this folder: three eval reports (schema_version 2) and the
predictions files they name. Seeded, so a rerun gives the same bytes.

Run from the repository root: python3 examples/document-classifier/per-example/generate.py

The golden_set of each report carries per-example results (paired comparison); production_sample
does not, so the same report also shows the unpaired fallback. The report's metrics are computed
from the examples with the helper a team would paste into its evaluate script (docs/eval-report.md).
"""

import json
import os
import random

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
LABELS = ["billing", "refund", "technical", "account", "shipping", "other"]
SOURCES = ["email", "upload", "chat"]
ROWS = 2000


def golden_set(rng):
    rows = []
    for i in range(ROWS):
        rows.append({
            "id": f"golden-{i:05d}",
            "label": rng.choices(LABELS, weights=[30, 10, 30, 15, 10, 5])[0],
            "source": rng.choices(SOURCES, weights=[50, 30, 20])[0],
            "hardness": rng.random(),
        })
    return rows


def predict(rows, rng, error_by_source, latency_ms, confidence):
    """A model that errs on the hardest examples of each source (so versions share most errors)."""
    out = []
    for r in rows:
        wrong = r["hardness"] < error_by_source[r["source"]] or rng.random() < 0.004
        predicted = r["label"]
        if wrong:
            predicted = rng.choice([l for l in LABELS if l != r["label"]])
        conf = min(0.999, max(0.2, rng.gauss(confidence - (0.2 if wrong else 0), 0.05)))
        out.append({
            "id": r["id"],
            "label": r["label"],
            "predicted": predicted,
            "confidence": round(conf, 4),
            "latency_ms": round(rng.lognormvariate(np.log(latency_ms), 0.35), 2),
            "slices": {"source": r["source"]},
        })
    return out


# ---- paste from here into an evaluate script (docs/eval-report.md) --------------------------------
def eval_set_metrics(examples, cost_per_1k_requests, dataset_md5, predictions_file):
    """The eval-set entry of eval_report.json, computed from the per-example results it names."""
    correct = np.array([e["label"] == e["predicted"] for e in examples])
    conf = np.array([e["confidence"] for e in examples], dtype=float)
    latency = np.array([e["latency_ms"] for e in examples], dtype=float)
    slices = {}
    for e, ok in zip(examples, correct):
        for key, value in e.get("slices", {}).items():
            slices.setdefault(f"{key}={value}", []).append(ok)
    return {
        "accuracy": round(float(correct.mean()), 4),
        "p95_latency_ms": round(float(np.percentile(latency, 95)), 1),
        "cost_per_1k_requests": cost_per_1k_requests,
        "slice_accuracy": {name: round(float(np.mean(v)), 4) for name, v in sorted(slices.items())},
        "confidence": {"mean": round(float(conf.mean()), 4), "std": round(float(conf.std()), 4)},
        "row_count": len(examples),
        "dataset_md5": dataset_md5,
        "predictions_file": predictions_file,
    }


def write_predictions(path, examples):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for e in examples:
            f.write(json.dumps(e, allow_nan=False) + "\n")
# ---- to here --------------------------------------------------------------------------------------


PRODUCTION_SAMPLE = {
    "accuracy": 0.91, "p95_latency_ms": 135.0, "cost_per_1k_requests": 0.45,
    "slice_accuracy": {"source=email": 0.92, "source=upload": 0.9, "source=chat": 0.89},
    "confidence": {"mean": 0.83, "std": 0.09}, "row_count": 20000,
    "dataset_md5": "9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f.dir",
}


def report(name, version, generated_at, examples, cost, production):
    predictions_file = f"predictions/{name}/golden_set.jsonl"
    write_predictions(os.path.join(HERE, predictions_file), examples)
    return {
        "schema_version": 2,
        "model": "document-classifier",
        "model_version": version,
        "generated_at": generated_at,
        "currency": "USD",
        "eval_sets": {
            "golden_set": eval_set_metrics(examples, cost, "3b1f0c2e9a7d4e6f8a0b1c2d3e4f5a6b", predictions_file),
            "production_sample": production,
        },
    }


def main():
    rng = random.Random(20261206)
    rows = golden_set(rng)
    outputs = {
        "baseline_metrics.json": report(
            "baseline", "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "2026-10-20T08:30:00Z",
            predict(rows, rng, {"email": 0.05, "upload": 0.06, "chat": 0.09}, 70, 0.88), 0.42, PRODUCTION_SAMPLE),
        "eval_report.json": report(
            "candidate", "3f2a9c1d0e8b7a6954c3b2a1f0e9d8c7b6a59483", "2026-11-02T10:15:00Z",
            predict(rows, rng, {"email": 0.052, "upload": 0.062, "chat": 0.095}, 74, 0.88), 0.44,
            {**PRODUCTION_SAMPLE, "accuracy": 0.905, "p95_latency_ms": 140.2, "cost_per_1k_requests": 0.46}),
        "eval_report_regressed.json": report(
            "regressed", "7d6c5b4a39281706f5e4d3c2b1a0998877665544", "2026-11-03T16:45:00Z",
            predict(rows, rng, {"email": 0.07, "upload": 0.09, "chat": 0.16}, 84, 0.86), 0.47,
            {**PRODUCTION_SAMPLE, "accuracy": 0.905}),
    }
    for name, doc in outputs.items():
        with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2, allow_nan=False)
            f.write("\n")


if __name__ == "__main__":
    main()
