"""networkx's own Dijkstra as the oracle for a city's station matrices.

An implementation independent of the region/gateway decomposition in
``iome_ref.simulation.routing``, shared by the routing and GraphML tests.
"""

from __future__ import annotations

import networkx as nx

from iome_ref.simulation.city import City


def nx_travel(city: City, origin: str) -> dict[int, int]:
    return nx.single_source_dijkstra_path_length(
        city.graph, city.stations[origin], weight="travel_s"
    )


def assert_routes_exact(city: City) -> None:
    for a in city.station_ids:
        times = nx_travel(city, a)
        row = [times.get(city.stations[b], -1) for b in city.station_ids]
        assert row == city.travel_matrix[city.station_index[a]].tolist(), a
