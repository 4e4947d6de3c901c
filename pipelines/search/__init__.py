"""Index directories, query-by-example, DTW re-ranking, live detection."""

FUSIONS = ("mean", "max")  # how several examples of one term make one query
DEFAULT_FUSION = "mean"
