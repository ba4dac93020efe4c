"""The video engine: sampled-frame PDQ-style hashes aligned in time, plus the soundtrack's fingerprint."""
