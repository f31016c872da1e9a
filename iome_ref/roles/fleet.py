"""A ride-sharing fleet that assigns its vehicles to ride requests with energy prices in view.

Paper §II-A: "ride sharing companies can feed pricing signals to their route decision making
and price estimation algorithms to make their fleet of vehicles aligned with the market energy
demand or supply". Here the cost of serving request q with vehicle v is its time (pickup plus
ride, valued per hour) plus its energy (pickup plus ride) priced in the destination's region,
where the vehicle recharges afterwards. The fleet serves as many requests as it can, then at
the least total cost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx

from iome_ref.errors import UsageError
from iome_ref.roles.vehicle import ElectricVehicle, RoadMap, StationIndex

__all__ = ["Assignment", "RideRequest", "RideShareFleet"]

_SECONDS_PER_HOUR = 3600
_WH_PER_KWH = 1000


@dataclass(frozen=True, slots=True)
class RideRequest:
    """A customer's ride from one station to another, requested at ``t``.

    Raises:
        UsageError: origin and destination are one station; such a ride would end in a Trip
            from a station to itself, which the chain refuses (IOME-CLAIM-007, IOME-TRIP-006).
    """

    request_id: str
    origin: str
    destination: str
    t: int

    def __post_init__(self) -> None:
        if self.origin == self.destination:
            raise UsageError(
                "fleet", f"ride {self.request_id} starts and ends at station {self.origin}"
            )


@dataclass(frozen=True, slots=True)
class Assignment:
    """Vehicle ``vehicle_id`` serves ``request_id``: times, energy and the cost that chose it."""

    request_id: str
    vehicle_id: str
    pickup_s: int
    ride_s: int
    energy_wh: int
    cost_micro: int


class _MatchingGraph(nx.Graph):  # type: ignore[type-arg]
    """An ``nx.Graph`` whose ``G[v]`` is its adjacency dict itself, not a fresh read-only view.

    ``max_weight_matching`` reads an edge's weight as ``G[v][w].get("weight")`` in its inner
    loop; building a view there was a quarter of its time (measured on the fleet's graphs).
    The dict holds the same neighbours in the same order with the same data, and the
    algorithm only reads it, so it takes the same steps and returns the same matching, ties
    included (a property test compares it with ``nx.Graph`` on tie-heavy graphs). Only
    ``_match_exact`` builds one, and nothing else sees it.
    """

    def __getitem__(self, n: tuple[str, int | str]) -> dict[tuple[str, int | str], Any]:  # type: ignore[override]
        adjacency: dict[tuple[str, int | str], Any] = self._adj[n]  # type: ignore[attr-defined]
        return adjacency


@dataclass(frozen=True, slots=True)
class _Edge:
    cost: int
    request: int
    vehicle_id: str
    pickup_s: int
    ride_s: int
    energy_wh: int


class RideShareFleet:
    """The fleet's dispatcher (its child-chain members are the vehicles).

    ``time_cost_micro_per_hour`` values a vehicle-hour (driver and vehicle time). Each request
    considers its ``candidates_per_request`` quickest feasible vehicles; batches of at most
    ``exact_limit`` requests are matched exactly (networkx maximum-weight matching with maximum
    cardinality: most requests served, then least total cost), larger ones greedily by
    ascending cost, which keeps a round of 10^4 requests near-linear.
    """

    def __init__(
        self,
        fleet_id: str,
        vehicles: Sequence[ElectricVehicle],
        *,
        time_cost_micro_per_hour: int = 20_000_000,
        candidates_per_request: int = 8,
        exact_limit: int = 100,
    ) -> None:
        self.fleet_id = fleet_id
        self.vehicles = list(vehicles)
        self.time_cost_micro_per_hour = time_cost_micro_per_hour
        self.candidates_per_request = candidates_per_request
        self.exact_limit = exact_limit

    def compute_cost(self, travel_s: int, energy_wh: int, price_micro_per_kwh: int) -> int:
        """Objective of one assignment in micro-units: time value plus energy at the price."""
        return round(
            self.time_cost_micro_per_hour * travel_s / _SECONDS_PER_HOUR
            + energy_wh * price_micro_per_kwh / _WH_PER_KWH
        )

    def assign(
        self,
        requests: Sequence[RideRequest],
        prices: Mapping[str, int],
        city: RoadMap,
        *,
        index: StationIndex | None = None,
    ) -> list[Assignment]:
        """Assign idle vehicles (those at a station) to ``requests``; unserved ones are omitted.

        ``prices`` maps region to retail price, micro-units per kWh (the regions' EPS). A
        vehicle is feasible for a request when it reaches the pickup and then the destination
        keeping its reserve. Result in request order.

        Raises:
            UsageError: a request's destination region has no price.
        """
        index = index or StationIndex(city)
        edges = self._candidate_edges(requests, prices, city, index)
        chosen = (
            self._match_exact(edges) if len(requests) <= self.exact_limit else _match_greedy(edges)
        )
        chosen.sort(key=lambda edge: edge.request)
        return [
            Assignment(
                requests[edge.request].request_id,
                edge.vehicle_id,
                edge.pickup_s,
                edge.ride_s,
                edge.energy_wh,
                edge.cost,
            )
            for edge in chosen
        ]

    def _candidate_edges(
        self,
        requests: Sequence[RideRequest],
        prices: Mapping[str, int],
        city: RoadMap,
        index: StationIndex,
    ) -> list[_Edge]:
        idle: dict[str, list[ElectricVehicle]] = defaultdict(list)
        for vehicle in self.vehicles:
            if vehicle.location is not None:
                idle[vehicle.location].append(vehicle)
        travel, energy = city.station_travel_s, city.station_energy_wh
        edges: list[_Edge] = []
        for i, request in enumerate(requests):
            ride = (request.origin, request.destination)
            ride_s, ride_wh = travel.get(ride), energy.get(ride)
            if ride_s is None or ride_wh is None:
                continue
            region = city.station_region[request.destination]
            if region not in prices:
                raise UsageError("fleet", f"no price for region {region}")
            price = prices[region]
            found = 0
            for pickup_s, station in index.by_travel_to(request.origin):
                if found >= self.candidates_per_request:
                    break
                pickup_wh = energy.get((station, request.origin))
                if pickup_wh is None:
                    continue
                needed = pickup_wh + ride_wh
                for vehicle in idle.get(station, ()):
                    if vehicle.battery.soc_wh - needed < vehicle.reserve_wh:
                        continue
                    cost = self.compute_cost(pickup_s + ride_s, needed, price)
                    edges.append(_Edge(cost, i, vehicle.vehicle_id, pickup_s, ride_s, needed))
                    found += 1
                    if found >= self.candidates_per_request:
                        break
        return edges

    @staticmethod
    def _match_exact(
        edges: list[_Edge], graph: nx.Graph[tuple[str, int | str]] | None = None
    ) -> list[_Edge]:
        """Maximum-cardinality matching of least total cost (weight = ceiling - cost).

        ``graph``, empty, is what the matching is built on: a ``_MatchingGraph`` unless given
        (tests give a plain ``nx.Graph``, the definition it must agree with).
        """
        if not edges:
            return []
        ceiling = max(edge.cost for edge in edges) + 1
        graph = _MatchingGraph() if graph is None else graph
        by_pair: dict[tuple[int, str], _Edge] = {}
        for edge in edges:
            graph.add_edge(("r", edge.request), ("v", edge.vehicle_id), weight=ceiling - edge.cost)
            by_pair[(edge.request, edge.vehicle_id)] = edge
        chosen = []
        for a, b in nx.max_weight_matching(graph, maxcardinality=True):
            request_node, vehicle_node = (a, b) if a[0] == "r" else (b, a)
            chosen.append(by_pair[(request_node[1], vehicle_node[1])])
        return chosen


def _match_greedy(edges: list[_Edge]) -> list[_Edge]:
    """Cheapest edge first, each request and vehicle once (ties by request, then vehicle id)."""
    taken_requests: set[int] = set()
    taken_vehicles: set[str] = set()
    chosen = []
    for edge in sorted(edges, key=lambda e: (e.cost, e.request, e.vehicle_id)):
        if edge.request in taken_requests or edge.vehicle_id in taken_vehicles:
            continue
        taken_requests.add(edge.request)
        taken_vehicles.add(edge.vehicle_id)
        chosen.append(edge)
    return chosen
