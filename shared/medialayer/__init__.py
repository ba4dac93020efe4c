"""MediaLayer core: media decoding, fingerprinting, matching, tenancy and data access.

Lambda handlers in ``functions/`` and the local runtime in ``medialayer.local`` are thin shells
around this package.
"""

__version__ = "0.1.0"
