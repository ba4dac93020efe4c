"""Index segments: immutable, mergeable files of fingerprint rows that search loads and caches."""
