"""Helius: the upstream client, its fetch strategies, and an emulator of its API."""
