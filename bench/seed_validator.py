"""The source article's dataset validator (../shared/seed/, "Dataset Versioning"), copied as written,
so that bench/validate-data-vs-python.ts can time it against `mlops validate-data` on the same file.

    python3 bench/seed_validator.py <dataset.jsonl> <reference.jsonl>

Only this docstring is added. It reads both files whole into memory and stops at the first line that
is not JSON, so the benchmark gives it a file without broken lines. Needs numpy and scipy.
"""
import json
import sys
from pathlib import Path
from dataclasses import dataclass
from collections import Counter
import numpy as np
from scipy import stats


@dataclass
class ValidationReport:
    total_samples: int
    label_distribution: dict[str, int]
    schema_violations: list[str]
    distribution_drift: float
    is_valid: bool


def validate_dataset(
    dataset_path: Path,
    reference_path: Path,
    max_drift_threshold: float = 0.1,
) -> ValidationReport:
    """Validate a dataset against a reference distribution.
    Uses Jensen-Shannon divergence to detect distribution drift.
    A drift score above the threshold blocks the pipeline.
    """
    with open(dataset_path) as f:
        samples = [json.loads(line) for line in f]
    with open(reference_path) as f:
        reference = [json.loads(line) for line in f]
    # Schema validation
    required_fields = {"text", "label", "source", "timestamp"}
    violations = []
    for i, sample in enumerate(samples):
        missing = required_fields - set(sample.keys())
        if missing:
            violations.append(f"Row {i}: missing fields {missing}")
        if sample.get("text") and len(sample["text"]) > 10_000:
            violations.append(f"Row {i}: text exceeds 10k chars")
    # Distribution drift detection
    current_dist = Counter(s["label"] for s in samples)
    ref_dist = Counter(s["label"] for s in reference)
    all_labels = sorted(set(current_dist) | set(ref_dist))
    current_probs = np.array([current_dist.get(l, 0) for l in all_labels], dtype=float)
    ref_probs = np.array([ref_dist.get(l, 0) for l in all_labels], dtype=float)
    current_probs /= current_probs.sum()
    ref_probs /= ref_probs.sum()
    drift = float(np.sqrt(stats.entropy(current_probs, ref_probs) / 2))
    return ValidationReport(
        total_samples=len(samples),
        label_distribution=dict(current_dist),
        schema_violations=violations,
        distribution_drift=drift,
        is_valid=len(violations) == 0 and drift < max_drift_threshold,
    )


if __name__ == "__main__":
    report = validate_dataset(
        Path(sys.argv[1]),
        Path(sys.argv[2]),
    )
    print(json.dumps(report.__dict__, indent=2))
    sys.exit(0 if report.is_valid else 1)
