"""Evidence to a similarity in [0, 1] where 0.75 is the operating point (seed 000).

Visual evidence is the number of distinct pictures matched on one time line, each weighted by
its distance (alignment.FRAME_KNOTS). Audio evidence is the audio engine's own calibrated
similarity (operating point 0.80), mapped onto this scale.
"""

from __future__ import annotations

import numpy as np

# Distinct pictures on one line -> similarity; 0.75 at ~2.7 pictures (e.g. three at <= 40 bits).
# Measured (docs/benchmarks.md, Video match): all 1,800 distinct pairs had no frame pair within
# the 72 bits that carry weight (evidence 0); the weakest true pair (an 8 s clip of a static-camera
# shot) had 9. A single matching picture (a 2 s still shot) stays "low": one picture is what a
# still image is, and /video/match calibrates those apart (crossmodal.STILL_KNOTS).
EVIDENCE_KNOTS = (0.0, 1.0, 2.0, 3.0, 6.0, 12.0)
SIMILARITY_KNOTS = (0.0, 0.4, 0.65, 0.8, 0.92, 1.0)
# The audio engine's scale (0.80 operating point, "low" from 0.65) onto this one (0.75, "low" from 0.60).
AUDIO_KNOTS = ((0.0, 0.0), (0.65, 0.6), (0.80, 0.75), (1.0, 1.0))


def visual_similarity(evidence: float) -> float:
    return float(np.interp(evidence, EVIDENCE_KNOTS, SIMILARITY_KNOTS))


def audio_similarity(audio_engine_similarity: float) -> float:
    xs, ys = zip(*AUDIO_KNOTS, strict=True)
    return float(np.interp(audio_engine_similarity, xs, ys))
