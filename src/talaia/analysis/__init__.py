"""Integrated crime analysis.

Pure computation on NumPy arrays (no database imports):

- :mod:`talaia.analysis.knox` — near-repeat Knox test (Near Repeat Calculator compatible).
- :mod:`talaia.analysis.hotspots` — Getis-Ord Gi*, Local Moran's I, Benjamini-Hochberg FDR.
- :mod:`talaia.analysis.weights` — spatial weights (lattice, distance band, polygon contiguity).
- :mod:`talaia.analysis.density` — grids and kernel density surfaces.
- :mod:`talaia.analysis.concentration` — top shares, Lorenz, (generalized) Gini, repeats.
- :mod:`talaia.analysis.temporal` — aoristic week heat map, STL, Poisson anomalies.
- :mod:`talaia.analysis.evaluation` — PAI, PEI, RRI of hotspot maps.

:mod:`talaia.analysis.service` reads the DuckDB warehouse and runs them on a selection.
"""
