"""Reading audio, streams, manifests and text corpora."""
