"""``python -m seqae`` runs the command line."""

from seqae.cli import app

app()
