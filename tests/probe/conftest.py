"""Fixtures of the probe tests: a real nginx in front of the server."""

from tests.nginx import nginx_proxy

__all__ = ["nginx_proxy"]
