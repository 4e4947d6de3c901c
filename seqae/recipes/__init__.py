"""Named training recipes (``seqae train --recipe NAME``): config files read by seqae.settings."""
