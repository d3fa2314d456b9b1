"""The null test's partial sums, between a group of the analysis pass and the parent (private).

What ``audio.analysis`` (which runs the groups) and ``audio._pool`` (which runs them in worker
processes) share, in a module of its own so neither imports the other's private names:

    SEND_STEPS   seconds of audio per partial sum a group hands on
    PCM_SCALE    int32-scaled PCM to float
    Emit         where a group's partial sums go (in process: straight into a Null; in a worker:
                 down a pipe)
    Null         the parent's side: adds the groups' partial sums and squares per 1 s block
"""

from __future__ import annotations

import numpy as np

SEND_STEPS = 4
PCM_SCALE = 1.0 / 2**31


class Emit:
    """Where a group's partial null-test sums go: straight into the result (in process) or
    down a pipe (in a worker)."""

    def partial(self, k0: int, ints: np.ndarray | None, floats: np.ndarray | None, mix_sq: list[float]) -> None:
        raise NotImplementedError


class Null:
    """The parent's side of the null test: adds the groups' partial sums, per 1 s block."""

    def __init__(self, groups: int, block: int, channels: int) -> None:
        self.groups, self.block, self.channels = groups, block, channels
        self.res: list[float] = []
        self.ref: list[float] = []
        self._ints: np.ndarray | None = None
        self._floats: np.ndarray | None = None
        self._mix_sq: list[float] = []
        self._got = 0

    def add(self, ints: np.ndarray | None, floats: np.ndarray | None, mix_sq: list[float]) -> None:
        if ints is not None:
            self._ints = ints.copy() if self._ints is None else np.add(self._ints, ints, out=self._ints)
        if floats is not None:
            self._floats = floats.copy() if self._floats is None else np.add(self._floats, floats, out=self._floats)
        self._mix_sq += mix_sq
        self._got += 1
        if self._got == self.groups:
            self._close_batch()

    def _close_batch(self) -> None:
        total: np.ndarray | None = None
        if self._ints is not None:
            total = self._ints.astype(np.float64)
            total *= PCM_SCALE
        if self._floats is not None:
            total = self._floats if total is None else np.add(total, self._floats, out=total)
        assert total is not None
        per_block = total.reshape(-1, self.block * self.channels)
        # Not np.dot: in the parent, BLAS runs its own threads, which spin after each call on
        # the cores the workers need (measured: +9 CPU-s, +4 s wall on the 24 x 5 min set).
        self.res += np.einsum("ij,ij->i", per_block, per_block).tolist()
        self.ref += self._mix_sq
        self._ints = self._floats = None
        self._mix_sq = []
        self._got = 0
