"""Audio: landmark fingerprints (triplets of spectral peaks on a log-frequency grid) matched by
offset voting, with pitch- and speed-shifted lookups and a peak-by-peak verification.

Modules, in pipeline order: ``decode`` (bytes -> mono PCM, caps), ``spectrogram`` (PCM -> log-frequency
dB), ``peaks`` (dB -> sparse peaks), ``changes`` (dB -> dense band-energy changes, and their scan),
``fingerprint`` (the stored form and its bytes), ``landmarks`` (peaks -> hashed triplets, hash index),
``alignment`` (the search for lines over shifted lookups), ``voting`` (hash matches -> offset votes),
``runs`` (a line's matches -> runs with edges), ``verification`` (peak-overlap z-score of a line),
``presence`` (a target's peaks read on a fresh source's spectrogram),
``calibration`` (evidence -> similarity), ``placements`` (segments that repeat a stronger one),
``engine`` (the ``MediaEngine``); ``index`` serves search, ``sorting`` the joins and votes.

Silent, featureless or too short (< 2 s) audio is not an error: ``compare`` answers similarity 0
with ``details["reason"]``. Undecodable bytes raise ``unsupported_media``.
"""
