"""seqae: RNN sequence autoencoders for speech segments and sentences, searchable by example."""

import os

# Idle OpenMP threads sleep instead of spinning, so that two seqae processes on the same cores
# share them (each at about half speed) instead of stalling each other tenfold. It must be set
# before torch loads its OpenMP runtime; an explicit OMP_WAIT_POLICY is respected.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
