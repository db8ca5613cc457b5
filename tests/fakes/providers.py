"""The backends' loopback fakes under their old names. Every vendor now has a strict contract fake in
tests/fakes/vendors/ (built from layers/common/avatarsmith/backends/contracts/<vendor>.json); the
aliases stay for existing callers (benchmarks/run.py)."""

from __future__ import annotations

from tests.fakes.vendors.automatic1111 import Automatic1111VendorFake as A1111Fake
from tests.fakes.vendors.bfl import BflVendorFake as BflFake
from tests.fakes.vendors.comfyui import ComfyUIVendorFake as ComfyFake
from tests.fakes.vendors.fal import FalVendorFake as FalFake
from tests.fakes.vendors.openai import OpenAIVendorFake as OpenAIFake
from tests.fakes.vendors.replicate import ReplicateVendorFake as ReplicateFake

__all__ = ["A1111Fake", "BflFake", "ComfyFake", "FalFake", "OpenAIFake", "ReplicateFake"]
