"""Exact-EMD pair labels at scale: one Dask task per shard of pairs, each writing its own HDF5 file, and a
merged index file whose datasets are HDF5 virtual datasets over the shards.

    out/shard_00000.h5 ...   ``write_pair_labels`` files, each with its cache key (resumable: a shard whose
                             file already holds its key is not recomputed)
    out/labels.h5            virtual ``a, b, emd, kind, idx_a, idx_b`` over all shards, readable with
                             ``read_pair_labels`` like a single file; attrs list the shards

Shard ``i`` draws its pairs with its own seed derived from ``(seed, i)``, so the labels do not depend on
how many workers run them or in which order.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from codesign.artifacts import atomic_path
from codesign.emd.labels import cache_key, make_pair_labels, write_pair_labels
from codesign.progress import bar as progress_bar

INDEX = "labels.h5"
FIELDS = ("a", "b", "emd", "kind", "idx_a", "idx_b")


@dataclass(frozen=True)
class Shard:
    index: int
    n_random: int
    n_perturbed: int
    seed: int

    @property
    def name(self) -> str:
        return f"shard_{self.index:05d}.h5"


def plan_shards(n_random: int, n_perturbed: int, shard_size: int, *, seed: int) -> list[Shard]:
    """Shards of at most ``shard_size`` pairs, random pairs first, each with a seed from ``(seed, index)``."""
    if shard_size < 1:
        raise ValueError(f"shard_size must be positive, got {shard_size}")
    kinds = [("random", n_random), ("perturbed", n_perturbed)]
    shards, index = [], 0
    for kind, total in kinds:
        for start in range(0, total, shard_size):
            n = min(shard_size, total - start)
            state = int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
            shards.append(Shard(index, n if kind == "random" else 0, n if kind == "perturbed" else 0, state))
            index += 1
    return shards


def _has_key(path: Path, key: str) -> bool:
    if not path.is_file():
        return False
    with h5py.File(path, "r") as f:
        return f.attrs.get("key") == key


def label_shard(calq: np.ndarray, shard: Shard, out_dir: str | Path) -> dict[str, Any]:
    """Compute one shard (exact EMD in this process) unless its file is already there; returns timing."""
    path = Path(out_dir) / shard.name
    key = cache_key(calq, shard.n_random, shard.n_perturbed, seed=shard.seed)
    start = time.perf_counter()
    computed = not _has_key(path, key)
    if computed:
        labels = make_pair_labels(calq, shard.n_random, shard.n_perturbed, seed=shard.seed, n_jobs=1)
        write_pair_labels(path, labels, key=key, seed=shard.seed, shard=shard.index)
    return {"shard": shard.index, "pairs": shard.n_random + shard.n_perturbed, "computed": computed,
            "seconds": time.perf_counter() - start}


def write_index(out_dir: str | Path, shards: list[Shard]) -> Path:
    """``labels.h5``: virtual datasets concatenating the shards (file names relative to the index)."""
    out = Path(out_dir)
    sizes = [s.n_random + s.n_perturbed for s in shards]
    total = int(sum(sizes))
    with h5py.File(out / shards[0].name, "r") as first:
        layouts = {f: h5py.VirtualLayout((total, *first[f].shape[1:]), first[f].dtype) for f in FIELDS}
    start = 0
    for shard, n in zip(shards, sizes, strict=True):
        with h5py.File(out / shard.name, "r") as f:
            for name, layout in layouts.items():
                layout[start:start + n] = h5py.VirtualSource(f"./{shard.name}", name, shape=f[name].shape)
        start += n
    with atomic_path(out / INDEX) as tmp, h5py.File(tmp, "w") as f:
        for name, layout in layouts.items():
            f.create_virtual_dataset(name, layout)
        f.attrs["shards"] = ",".join(s.name for s in shards)
        f.attrs["n_pairs"] = total
    return out / INDEX


def sharded_pair_labels(client: Any, calq: np.ndarray, n_random: int, *, n_perturbed: int, seed: int,
                        out_dir: str | Path, shard_size: int = 5000, progress: bool = True) -> dict[str, Any]:
    """Label pairs on the Dask cluster behind ``client`` into ``out_dir``; returns a throughput summary."""
    from distributed import as_completed

    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    shards = plan_shards(n_random, n_perturbed, shard_size, seed=seed)
    start = time.perf_counter()
    wafers = client.scatter(calq, broadcast=True, hash=False)
    run = uuid.uuid4().hex[:8]  # keys unique per call: a key reused while the last call's are released is lost
    futures = [client.submit(label_shard, wafers, s, str(out), key=f"emd-shard-{s.index}-{run}", pure=False)
               for s in shards]
    results = []
    with progress_bar(n_random + n_perturbed, "exact EMD (Dask)", "pair", shown=progress) as bar:
        for future in as_completed(futures):
            results.append(future.result())
            bar.update(results[-1]["pairs"])
    wall = time.perf_counter() - start
    index = write_index(out, shards)
    computed = sum(r["pairs"] for r in results if r["computed"])
    return {"index": str(index), "shards": len(shards), "pairs": n_random + n_perturbed,
            "computed_pairs": computed, "wall_s": wall, "pairs_per_s": computed / wall if wall else 0.0,
            "workers": len(client.scheduler_info()["workers"])}
