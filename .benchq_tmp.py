"""Quick bench: a custom preset for iterating (not part of the project)."""
import dataclasses, sys
sys.argv = [sys.argv[0]] + sys.argv[1:]
from bench import presets
from bench.presets import PRESETS
PRESETS["quick"] = dataclasses.replace(PRESETS["full"], name="quick", idle_levels=(5000,), storm_reps=3, hold_s=20.0, big_wallet_size=50_000)
from bench.cli import main
main()
