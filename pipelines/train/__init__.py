"""Training jobs for both modalities, pair discovery, seed runs."""
