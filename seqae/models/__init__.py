"""Plain nn.Module models: encoders, decoders and autoencoder objectives."""

from seqae.models import clockwork as _clockwork  # noqa: F401  (registers the encoders)
from seqae.models import encoders as _encoders  # noqa: F401
from seqae.models import pyramidal as _pyramidal  # noqa: F401
from seqae.models.autoencoder import SequenceAutoencoder, masked_mse, reverse_padded
from seqae.models.contrastive import nt_xent_loss, triplet_loss
from seqae.models.registry import (
    build_encoder,
    default_learning_rate,
    encoder_names,
    register_encoder,
)

__all__ = [
    "SequenceAutoencoder",
    "build_encoder",
    "default_learning_rate",
    "encoder_names",
    "masked_mse",
    "nt_xent_loss",
    "register_encoder",
    "reverse_padded",
    "triplet_loss",
]
