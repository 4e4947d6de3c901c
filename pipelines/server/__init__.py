"""A search server over one index directory: a JSON API and a web page (``seqae serve``)."""

from pipelines.server.app import create_app
from pipelines.server.uploads import ServerLimits

__all__ = ["ServerLimits", "create_app"]
