"""A :class:`partitive.tree.PartitionTree` as a JSON-ready dict, and back.

The dict is versioned; trees written in older versions of the format
(``tree.READABLE_VERSIONS``) still load and predict as they did.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from .mixture import Mixture
from .tree import READABLE_VERSIONS, Cluster, Merge, Node


def tree_to_dict(tree) -> dict:
    """``tree.to_dict()``: arrays as lists; :func:`tree_from_dict` inverts it exactly."""
    return {
        "format": "partitive.PartitionTree",
        # The oldest version that can read the tree: older readers load what they can.
        "version": _format_version(tree),
        "nodes": [_jsonable(asdict(n)) for n in tree.nodes],
        "clusters": [_jsonable(asdict(c)) for c in tree.clusters],
        "merges": [_jsonable(asdict(m)) for m in tree.merges],
        "clusterability": tree.clusterability,
        "most_separable": tree.most_separable,
        "feature_names": tree.feature_names,
        "params": _jsonable(tree.params),
        "mixture": None if tree.mixture is None else tree.mixture.to_dict(),
    }


def _format_version(tree) -> int:
    if tree.mixture is not None and tree.mixture.owner is not None:
        return 5
    if tree.mixture is not None and tree.mixture.projection is not None:
        return 4
    return 3 if tree.mixture is not None and tree.mixture.features is not None else 2


def tree_from_dict(cls, data: dict):
    """``cls.from_dict(data)``: the tree :func:`tree_to_dict` described (any readable
    format version)."""
    if data.get("format") != "partitive.PartitionTree":
        raise ValueError("not a partitive tree: the 'format' field is missing or different")
    if data.get("version") not in READABLE_VERSIONS:
        raise ValueError(
            f"unsupported partitive tree version {data.get('version')!r}; "
            f"this partitive reads versions {', '.join(map(str, READABLE_VERSIONS))}"
        )
    return cls(
        nodes=[_node_from_dict(n) for n in data["nodes"]],
        clusters=[
            Cluster(
                label=c["label"],
                weight=c["weight"],
                center=np.asarray(c["center"], dtype=np.float64),
                variance=np.asarray(c["variance"], dtype=np.float64),
                leaves=tuple(c["leaves"]),
            )
            for c in data["clusters"]
        ],
        merges=[
            Merge(
                leaves=tuple(tuple(side) for side in m["leaves"]),
                p_value=m["p_value"],
                dbic=m["dbic"],
                # Trees written before mixture merges existed hold pair merges only.
                test=m.get("test", "pair"),
            )
            for m in data["merges"]
        ],
        clusterability=data["clusterability"],
        most_separable=data["most_separable"],
        feature_names=data["feature_names"],
        params=data["params"],
        mixture=None if data.get("mixture") is None else Mixture.from_dict(data["mixture"]),
    )


def _node_from_dict(n: dict) -> Node:
    def arr(value):
        return None if value is None else np.asarray(value, dtype=np.float64)

    return Node(
        id=n["id"],
        parent=n["parent"],
        depth=n["depth"],
        weight=n["weight"],
        centroid=arr(n["centroid"]),
        variance=arr(n["variance"]),
        sse=n["sse"],
        accepted=n["accepted"],
        reason=n["reason"],
        children=None if n["children"] is None else tuple(n["children"]),
        direction=arr(n["direction"]),
        threshold=n["threshold"],
        dbic=n["dbic"],
        scores=None if n["scores"] is None else tuple(n["scores"]),
        p_value=n["p_value"],
    )


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
