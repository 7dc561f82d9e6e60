"""``python -m walletdoctor``: the same command as the ``walletdoctor`` console script."""

from walletdoctor.cli import main

main()
