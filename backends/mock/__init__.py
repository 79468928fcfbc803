"""The mock backend: a deterministic, simulated WhatsApp for development, demos and tests."""

from backends.mock.backend import MockBackend
from backends.mock.simulation import Simulation

__all__ = ["MockBackend", "Simulation"]
