"""Votes of the best offset line to a similarity in [0, 1] where 0.80 is the operating point.

Evidence is the votes above what chance gives the same pair of fingerprints: long, repetitive
tracks collide more by chance than a short clip, so raw votes alone would not transfer.
"""

from __future__ import annotations

import numpy as np

# Chance votes of the best line grow with the matches per offset (``Alignment.chance_votes``) and
# with repetitive music far beyond a Poisson tail; this multiple of it is discounted
# (docs/benchmarks.md, "Audio match": unrelated long-vs-long pairs).
CHANCE_MULTIPLE = 2.0
# Excess votes -> similarity. 0.80 sits above the highest excess measured between distinct
# recordings (docs/benchmarks.md: false-match rate), the rest spreads the true matches.
EXCESS_KNOTS = (0.0, 10.0, 26.0, 50.0, 150.0, 400.0)
SIMILARITY_KNOTS = (0.0, 0.3, 0.8, 0.9, 0.97, 1.0)
# Peak-overlap z-score (verification.py) -> similarity, for matches whose triplets noise thinned out.
Z_KNOTS = (0.0, 4.0, 7.5, 12.0, 25.0, 50.0)


def excess_votes(votes: float, chance_votes: float) -> float:
    return max(0.0, float(votes) - CHANCE_MULTIPLE * float(chance_votes))


def similarity_from_votes(votes: float, chance_votes: float) -> float:
    return float(np.interp(excess_votes(votes, chance_votes), EXCESS_KNOTS, SIMILARITY_KNOTS))


def similarity_from_evidence(votes: float, chance_votes: float, overlap_z: float) -> float:
    """The stronger of the two kinds of evidence; each is calibrated on its own unrelated pairs."""
    return max(similarity_from_votes(votes, chance_votes), float(np.interp(overlap_z, Z_KNOTS, SIMILARITY_KNOTS)))
