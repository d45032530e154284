"""The API harness of tests/api, here too."""

from tests.api.conftest import gw

__all__ = ["gw"]
