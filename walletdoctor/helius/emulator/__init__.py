"""An emulator of the Helius endpoints WalletDoctor uses, serving recorded and synthetic wallets."""

__all__: list[str] = []
