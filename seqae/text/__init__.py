"""Sentence autoencoders: tokenizers, token datasets, configs, training and the model bundle."""
