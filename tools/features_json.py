"""docs/features.json from the studies' outputs in docs/features/ (the shape issue 21
asks for; errors as fractions).

    .venv/bin/python tools/features_json.py
"""
from __future__ import annotations

import json
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def main() -> int:
    d = DOCS / "features"
    truth = json.loads((d / "tracking_truth_noise.json").read_text())
    model = json.loads((d / "tracking_model.json").read_text())
    ground = json.loads((d / "ground_model.json").read_text())
    out = {
        "tracking": {"idf1_truth_noise": truth["idf1"], "idf1_model": model["idf1"], "mota_model": model["mota"]},
        "ground": {
            "median_rel_error": ground["median_rel_error"],
            "median_rel_error_legs_occluded_10-20": ground["median_rel_error_legs_occluded"]["10-20"],
            "visible_box_median_rel_error_legs_occluded_10-20":
                ground["visible_box_median_rel_error_legs_occluded"]["10-20"],
        },
    }
    def finite(v):  # a bin without samples is null, not NaN (which JSON does not have)
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        return v if v == v else None

    out = finite(out)
    (DOCS / "features.json").write_text(json.dumps(out, indent=2, allow_nan=False) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
