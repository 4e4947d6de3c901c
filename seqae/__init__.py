"""seqae: RNN sequence autoencoders for speech segments and sentences, searchable by example."""

__version__ = "0.1.0"
