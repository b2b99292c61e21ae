"""The collaboration graph: who worked with whom, how often and how recently.

Built from stored memberships (organisation x project, with the project's start date) at
one change number, aligned with :class:`matcher.retrieval.catalogue.Catalogue` organisation
positions. Sparse matrices only, so ties of one organisation to all others cost one
sparse product, not a Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from matcher.storage.store import Store


@dataclass
class Ties:
    """Ties of one seed organisation to every organisation (arrays of length n_orgs)."""

    shared: np.ndarray  # number of projects done together
    last_year: np.ndarray  # start year of the latest shared project (0 when none)
    two_hop: np.ndarray  # bool: a partner of a partner (and not a direct partner)


@dataclass
class CollaborationGraph:
    """Membership matrix ``m`` (n_orgs x n_projects, 1 = member) and project start years."""

    m: sparse.csr_matrix
    project_year: np.ndarray

    @classmethod
    def from_store(cls, store: Store, org_ids: np.ndarray) -> CollaborationGraph:
        """Memberships of the organisations in ``org_ids`` (sorted), projects numbered densely."""
        project_ids, member_ids, years = store.membership_table()
        pos = np.searchsorted(org_ids, member_ids)
        ok = pos < len(org_ids)
        ok[ok] &= org_ids[pos[ok]] == member_ids[ok]
        uniq, proj = np.unique(project_ids[ok], return_inverse=True)
        year = np.zeros(len(uniq), dtype=np.int32)
        year[proj] = years[ok]
        m = sparse.csr_matrix((np.ones(int(ok.sum()), dtype=np.float32), (pos[ok], proj)),
                              shape=(len(org_ids), len(uniq)))
        m.data[:] = 1.0  # an organisation listed twice in a project counts once
        return cls(m, year)

    def save(self, folder: Path) -> None:
        """Write the matrix and the years to ``folder/graph.npz``."""
        np.savez(folder / "graph.npz", data=self.m.data, indices=self.m.indices, indptr=self.m.indptr,
                 shape=np.asarray(self.m.shape), project_year=self.project_year)

    @classmethod
    def load(cls, folder: Path, n_orgs: int) -> CollaborationGraph | None:
        """The graph saved in ``folder``, or None when there is none, it is unreadable or it has
        another number of organisations (then it is rebuilt from the store)."""
        try:
            with np.load(folder / "graph.npz", allow_pickle=False) as z:
                m = sparse.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"].tolist()))
                years = z["project_year"]
        except (OSError, ValueError, KeyError):
            return None
        return cls(m, years) if m.shape[0] == n_orgs else None

    @property
    def n_orgs(self) -> int:
        return int(self.m.shape[0])

    def ties(self, seed: int) -> Ties:
        """Ties of the organisation at position ``seed``; the seed itself has none to itself."""
        row = self.m.getrow(seed)
        projects = row.indices
        shared = np.asarray((self.m[:, projects]).sum(axis=1)).ravel() if len(projects) else np.zeros(self.n_orgs)
        last = np.zeros(self.n_orgs, dtype=np.int32)
        if len(projects):
            sub = self.m[:, projects].tocoo()
            np.maximum.at(last, sub.row, self.project_year[projects][sub.col])
        shared[seed], last[seed] = 0, 0
        direct = shared > 0
        two_hop = np.zeros(self.n_orgs, dtype=bool)
        if direct.any():
            partner_projects = np.unique(self.m[np.flatnonzero(direct)].indices)
            reach = np.asarray(self.m[:, partner_projects].sum(axis=1)).ravel() > 0
            two_hop = reach & ~direct
            two_hop[seed] = False
        return Ties(shared.astype(np.float64), last, two_hop)

    def partners(self, seed: int) -> np.ndarray:
        """Positions of the seed's direct partners."""
        return np.flatnonzero(self.ties(seed).shared > 0)
