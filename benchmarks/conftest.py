from __future__ import annotations

import numpy as np
import pytest

from deleverage import _core

STREAM_MESSAGES = 2_000_000
BATCH = 1 << 16


@pytest.fixture(scope="session")
def stream() -> np.ndarray:
    """The standard seeded message stream (a 2M-message run of the 10M one's generator)."""
    return _core.generate_message_stream(STREAM_MESSAGES, seed=1)
