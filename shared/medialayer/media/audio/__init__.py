"""Audio: landmark fingerprints (triplets of spectral peaks on a log-frequency grid) matched by
offset voting, with pitch- and speed-shifted lookups and a peak-by-peak verification.

Modules, in pipeline order: ``decode`` (bytes -> mono PCM, caps), ``spectrogram`` (PCM -> log-frequency
dB), ``peaks`` (dB -> sparse peaks), ``fingerprint`` (the stored form and its bytes), ``landmarks``
(peaks -> hashed triplets, hash index), ``alignment`` (hash matches -> offset lines and runs),
``verification`` (peak-overlap z-score of a line), ``calibration`` (evidence -> similarity),
``engine`` (the ``MediaEngine``).

Silent, featureless or too short (< 2 s) audio is not an error: ``compare`` answers similarity 0
with ``details["reason"]``. Undecodable bytes raise ``unsupported_media``.
"""
