"""partitive: Probabilistic Partitive Partitioning, clustering that finds k and never varies."""

from .estimator import PPP
from .dataset import Dataset, open_dataset
from .io import DataError
from .outputs import predict_to_file
from .tree import Cluster, Merge, Node, PartitionTree

__version__ = "0.1.0"

__all__ = ["PPP", "open_dataset", "predict_to_file", "Dataset", "DataError", "PartitionTree", "Node", "Cluster", "Merge", "__version__"]
