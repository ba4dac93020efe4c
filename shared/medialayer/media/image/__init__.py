"""The image engine: decode, multi-window dihedral DCT hashes, calibrated comparison."""
