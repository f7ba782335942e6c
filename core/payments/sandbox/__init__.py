"""The sandbox card gateway (Stripe PaymentIntents subset, faults on demand)."""

from core.payments.sandbox.runner import SandboxClient, SandboxServer, start_shared_sandbox
from core.payments.sandbox.server import TEST_METHODS, TEST_NUMBERS, Faults, SandboxState

__all__ = ["TEST_METHODS", "TEST_NUMBERS", "Faults", "SandboxClient", "SandboxServer",
           "SandboxState", "start_shared_sandbox"]
