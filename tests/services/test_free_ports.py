"""Ports for test and benchmark platforms come from below the kernel's ephemeral range, so an
outgoing connection opened while a platform starts cannot take a port a service is about to bind."""

from __future__ import annotations

import socket

from salesgrid_dev.processes import ephemeral_ports, free_port


def test_free_ports_lie_below_the_ephemeral_range_and_are_not_repeated() -> None:
    low, high = ephemeral_ports()
    assert 1024 <= low < high
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(port < low for port in ports), [p for p in ports if p >= low]


def test_a_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert sock.getsockname()[1] == port
