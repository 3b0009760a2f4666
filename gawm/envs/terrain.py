"""Pathing grids and navigation for the simulator's maps.

A map's walkable area is a boolean grid of 1 x 1 cells (SMAC's pathing grid has the same resolution).
Open maps are walkable everywhere inside the bounds, so units move in straight lines. Corridor has walls:
units follow the gradient of precomputed all-pairs geodesic distances between walkable cells, so the
enemy AI finds its way through the passage instead of pressing against a wall, and every move is clipped
against the walls (a blocked diagonal move slides along the free axis).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import shortest_path

from gawm.envs import kernels
from gawm.envs.motion import length

_NEIGHBOURS = np.array([(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)], dtype=np.int64)
_NEIGHBOUR_STEP = np.linalg.norm(_NEIGHBOURS, axis=-1)  # (8,) length of the step to each neighbour cell


def _grid(name: str, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    grid = np.zeros((w, h), dtype=bool)  # grid[x, y]
    if name == "open":
        grid[:, :] = True
    elif name == "corridor":
        # [EST] SMAC's corridor.SC2Map is binary and SMAClite lists only its spawn groups; this layout keeps
        # what decides the map: both armies start in the open, 12 apart (SMAClite: 12.7), and the zealots'
        # only cover is a narrow passage behind them, on the way to the AI's attack point
        grid[13:31, 3:30] = True  # the open field where both armies start
        grid[5:13, 15:18] = True  # the passage: 8 long, 3 wide (three zealots abreast fill it)
        grid[1:5, 10:23] = True  # a small chamber behind it, with the AI's attack point
    else:
        raise ValueError(f"unknown terrain '{name}'")
    return grid


class Terrain:
    """Walkability queries and wall-aware movement for points of shape (..., 2)."""

    def __init__(self, name: str, size: tuple[int, int]):
        self.name = name
        self.size = size
        self.grid = _grid(name, size)  # (W, H) bool
        self.is_open = bool(self.grid.all())
        self._padded = np.zeros((size[0] + 2, size[1] + 2), dtype=bool)  # a wall ring outside the map
        self._padded[1:-1, 1:-1] = self.grid
        self._geo = None if self.is_open else _geodesic(name, size)
        self._bounds()

    def _bounds(self) -> None:
        """The map's extent as arrays for the open-map shortcuts; also run on unpickling (older checkpoints)."""
        self._size = np.array(self.size, dtype=np.float64)  # (2,)
        self._upper = self._size - 1e-3  # (2,) the largest coordinates inside the map

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._bounds()

    @property
    def padded(self) -> np.ndarray:
        """The walkable grid inside a ring of wall cells, (w + 2, h + 2) bool, as the kernels read it."""
        return self._padded

    def pathable(self, pos: np.ndarray) -> np.ndarray:
        """True where the point lies on a walkable cell inside the map: pos (..., 2) -> (...) bool."""
        if self.is_open:  # every cell is walkable: inside the map is enough (floor(x) in [0, w) iff x in [0, w))
            return ((pos >= 0.0) & (pos < self._size)).all(-1)
        w, h = self.size
        return kernels.walkable_points(self._padded, w, h, _points(pos, pos.shape)).reshape(pos.shape[:-1])

    def clip_move(self, pos: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """pos + delta where walkable; otherwise slide along x or y; otherwise stay. (..., 2) arrays."""
        if self.is_open:
            return np.minimum(np.maximum(pos + delta, 0.0), self._upper)
        w, h = self.size
        shape = pos.shape if pos.shape == delta.shape else np.broadcast_shapes(pos.shape, delta.shape)
        return kernels.clip_moves(self._padded, w, h, _points(pos, shape), _points(delta, shape)).reshape(shape)

    def direction(self, pos: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """Unit vector (..., 2) along which to walk from pos towards goal (geodesic on walled maps)."""
        if self.is_open:
            return _unit(goal - pos)
        cells, dist = self._geo
        w, h = self.size
        shape = pos.shape if pos.shape == goal.shape else np.broadcast_shapes(pos.shape, goal.shape)
        return kernels.geodesic_directions(cells, dist, w, h, _NEIGHBOURS, _NEIGHBOUR_STEP, _points(pos, shape),
                                           _points(goal, shape)).reshape(shape)


def _points(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """a broadcast to `shape` (..., 2) as contiguous float64 rows (P, 2), the layout the kernels take
    (no copy when a already is one)."""
    if a.shape != shape:
        a = np.broadcast_to(a, shape)
    return np.ascontiguousarray(a, dtype=np.float64).reshape(-1, 2)


def _unit(v: np.ndarray) -> np.ndarray:
    n = length(v)[..., None]
    return np.where(n > 1e-9, v / np.maximum(n, 1e-9), 0.0)


@lru_cache(maxsize=None)
def _geodesic(name: str, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(cell index grid (W,H) with -1 on walls, all-pairs 8-connected shortest path lengths (C, C))."""
    grid = _grid(name, size)
    w, h = size
    cells = -np.ones((w, h), dtype=np.int64)
    xs, ys = np.nonzero(grid)
    cells[xs, ys] = np.arange(len(xs))
    rows, cols, lens = [], [], []
    for dx, dy in _NEIGHBOURS:
        nx, ny = xs + dx, ys + dy
        ok = (nx >= 0) & (nx < w) & (ny >= 0) & (ny < h)
        ok[ok] &= grid[nx[ok], ny[ok]]
        if dx != 0 and dy != 0:  # no corner cutting
            ok[ok] &= grid[nx[ok], ys[ok]] & grid[xs[ok], ny[ok]]
        rows.append(cells[xs[ok], ys[ok]])
        cols.append(cells[nx[ok], ny[ok]])
        lens.append(np.full(ok.sum(), np.hypot(dx, dy)))
    n = len(xs)
    graph = coo_matrix((np.concatenate(lens), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    dist = shortest_path(graph.tocsr(), method="D", directed=False)
    return cells, dist.astype(np.float32)
