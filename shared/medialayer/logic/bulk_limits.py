"""The numbers that bound a bulk job, in one place (issue 7; docs/api.md, Bulk)."""

from __future__ import annotations

MiB = 1024 * 1024
GiB = 1024 * MiB

# CSV: the 100,000 rows; 32 MiB leaves ~330 bytes a row (a long signed URL plus a name).
MAX_ROWS = 100_000
MAX_CSV_BYTES = 32 * MiB
MAX_URL_CHARS = 4096
MAX_NAME_CHARS = 512

# ZIP: 2 GB compressed (the issue), streamed to S3 and read back by ranges, never held whole.
MAX_ZIP_BYTES = 2 * GiB
MAX_ZIP_ENTRIES = MAX_ROWS + 1_000  # every row's file, the manifest, and some folders
# Decompression bombs: the archive may not expand past this in total, and no entry past MAX_RATIO
# times its compressed size once it is bigger than RATIO_FLOOR. Media formats are compressed
# already (ratios near 1); a ratio over 100 is a bomb, and small text files may compress well.
MAX_UNCOMPRESSED_BYTES = 4 * GiB
MAX_RATIO = 100
RATIO_FLOOR = 1 * MiB
MANIFEST_NAME = "manifest.csv"

# Fan-out: rows per chunk file, one state-machine iteration (and Lambda invocation) each.
ROWS_PER_CHUNK = 5_000
# S3 multipart part size for streaming a ZIP from its URL (S3 needs >= 5 MiB but the last).
PART_BYTES = 16 * MiB
# Reading the archive back: ranged GETs of this size keep requests few and memory small.
READ_BLOCK_BYTES = 8 * MiB
# Downloading a 2 GB archive takes minutes; the expand step has 15.
ZIP_FETCH_TIMEOUT_S = 12 * 60.0

# Progress polling: quick at first (small jobs finish in seconds), then every MAX_POLL_S.
MAX_POLL_S = 20
# A job whose counters have not moved for this long is finished as it stands (an asset deleted
# mid-job, say); longer than the index queue's 5 receives x 720 s visibility before its DLQ.
STALL_S = 2 * 3600
# GET /v1/jobs/{id} shows this many row errors, lowest rows first; the report CSV has them all.
ERRORS_SHOWN = 1_000
REPORT_URL_TTL_S = 3600
