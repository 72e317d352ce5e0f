"""The Threshold-Sum output buffer: variable-length frames queue in 16-bit words and drain at 2n words per
bunch crossing; a frame that would overflow is cut down to its module sum (the chip's truncation)."""

from __future__ import annotations

import numpy as np

SAFETY_WORDS = 25  # T3, and T1 - T2: the longest Threshold-Sum frame in words


def buffer_truncations(frame_words: np.ndarray, elinks: int) -> np.ndarray:
    """Which of the frames streamed one per bunch crossing the buffer truncates.

    With Nbuf the words queued and W this frame's words: Nbuf + W > T1 truncates; so does Nbuf > T2 with
    W <= T3. A truncated frame occupies one word in the queue (the chip's write pointer advances by one).
    The queue drains after each write; draining first gives the same reconstructions on all conformance
    wafers at 1-13 eLinks."""
    t1 = 24 * elinks
    t2, t3 = t1 - SAFETY_WORDS, SAFETY_WORDS
    drain = 2 * elinks
    queued, truncated = 0, np.zeros(len(frame_words), dtype=bool)
    for i, words in enumerate(np.asarray(frame_words, dtype=np.int64).tolist()):
        if queued + words > t1 or (queued > t2 and words <= t3):
            truncated[i] = True
            queued += 1
        else:
            queued += words
        queued = max(queued - drain, 0)
    return truncated
