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
# On 10,078 held-out pairs of distinct material (bench/audio_false_matches.py) 9 reach 0.80, all
# below 0.85: within 1 in 1,000, and a stricter point costs noisy recall (docs/benchmarks.md,
# "Audio false matches").
Z_KNOTS = (0.0, 4.0, 7.5, 12.0, 25.0, 50.0)


def excess_votes(votes: float, chance_votes: float) -> float:
    return max(0.0, float(votes) - CHANCE_MULTIPLE * float(chance_votes))


def similarity_from_votes(votes: float, chance_votes: float) -> float:
    return float(np.interp(excess_votes(votes, chance_votes), EXCESS_KNOTS, SIMILARITY_KNOTS))


def similarity_from_evidence(votes: float, chance_votes: float, overlap_z: float) -> float:
    """The stronger of the two kinds of evidence; each is calibrated on its own unrelated pairs."""
    return max(similarity_from_votes(votes, chance_votes), float(np.interp(overlap_z, Z_KNOTS, SIMILARITY_KNOTS)))


# The changes' z (changes.py) and the joint z of a line that count as much as the peak z of the
# 0.80 knot. On a 40-track tuning run the highest of 1,175 unrelated pairs, over every offset, was
# 6.3 for the peak z, 5.4 for the changes' and 5.75 for the joint z: peaks and changes are different
# features, so their chance highs rarely meet on one offset (docs/benchmarks.md, "Audio match").
CHANGE_Z_AT_OPERATING_POINT = 6.0
JOINT_Z_AT_OPERATING_POINT = 7.0
# The joint z counts where each kind of evidence reaches this on its own. Music in one key on one
# beat grid (tests/unit/test_audio_match.py) lines up both at a beat: peak z 7.0 with changes' z 3.6
# on one offset, joint 7.5. No unrelated pair of the tuning run had both at 4 on one offset, and no
# true line there needed the joint z with either under 4.
JOINT_FLOOR_Z = 4.0


def joint_z(peak_z: np.ndarray | float, change_z: np.ndarray | float) -> np.ndarray | float:
    """Both kinds of evidence of one line together (Stouffer's sum), where each reaches JOINT_FLOOR_Z."""
    both = np.minimum(peak_z, change_z) >= JOINT_FLOOR_Z
    return np.where(both, (np.asarray(peak_z) + np.asarray(change_z)) / np.sqrt(2.0), 0.0)


def evidence_z(peak_z: np.ndarray | float, change_z: np.ndarray | float) -> np.ndarray | float:
    """The strongest of the peak z, the changes' z and the joint z, each on the peak z's scale, so
    that one set of knots (Z_KNOTS) calibrates all three."""
    scale = Z_KNOTS[2]
    z = np.maximum(np.maximum(peak_z, np.multiply(change_z, scale / CHANGE_Z_AT_OPERATING_POINT)),
                   joint_z(peak_z, change_z) * (scale / JOINT_Z_AT_OPERATING_POINT))
    return float(z) if np.ndim(z) == 0 else z
