"""HTTP endpoints of WalletDoctor and the translation of errors into JSON responses."""

__all__: list[str] = []
