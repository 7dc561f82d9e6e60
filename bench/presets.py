"""The two sizes of a bench run: ``small`` (CI, about two minutes) and ``full`` (the issue's sizes)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PRESETS", "Preset"]


@dataclass(frozen=True)
class Preset:
    """Every size and duration of a run.

    Attributes:
        idle_levels: open streams held at once, one fresh server per level.
        heartbeat_s: heartbeat interval of every server (the issue's 10 s).
        hold_s: how long the streams are held once all are connected.
        late_s: a heartbeat later than this past its due time is late.
        storm_clients, storm_reps: clients connecting at once, repetitions.
        fanout_streams, fanout_events: streams, and ``trades`` events each.
        fanout_reps: runs per server, a fresh server each; the median one is
            reported (one run moved by a fifth between full runs, peers too).
        fanout_delay_s: from each stream's request to its first ``trades``
            data (the upstream's answer for WalletDoctor): the connects are
            over by then, so the window measures delivery.
        fanout_cap_s: longest the delivery may take before it is cut.
        disconnect_streams: streams held; half of them vanish.
        settle_s: wait after the notice before the memory is read again.
        ramp_base_s: the opening of N streams may take ``ramp_base_s + N / 400``
            seconds before the rest are given up.
        storm_deadline_s: a storm client without ``connected`` by then has failed.
        wallet_reps: whole-wallet streams (the first on cold caches).
        big_wallet_size: transactions of the synthetic big wallet.
    """

    name: str
    idle_levels: tuple[int, ...]
    heartbeat_s: float
    hold_s: float
    late_s: float
    storm_clients: int
    storm_reps: int
    fanout_streams: int
    fanout_events: int
    fanout_reps: int
    fanout_delay_s: float
    fanout_cap_s: float
    disconnect_streams: int
    settle_s: float
    wallet_reps: int
    big_wallet_size: int
    ramp_base_s: float
    storm_deadline_s: float

    def ramp_s(self, streams: int) -> float:
        """Longest the opening of ``streams`` streams may take before the rest are given up."""
        return self.ramp_base_s + streams / 400


PRESETS = {
    "small": Preset(
        name="small",
        idle_levels=(500,),
        heartbeat_s=1.5,
        hold_s=3.3,
        late_s=0.75,
        storm_clients=500,
        storm_reps=1,
        fanout_streams=200,
        fanout_events=50,
        fanout_reps=1,
        fanout_delay_s=1.0,
        fanout_cap_s=4.0,
        disconnect_streams=200,
        settle_s=0.5,
        wallet_reps=1,
        big_wallet_size=5_000,
        ramp_base_s=3.0,
        storm_deadline_s=4.0,
    ),
    "full": Preset(
        name="full",
        idle_levels=(1000, 5000, 10000, 19000),
        heartbeat_s=10.0,
        hold_s=30.0,
        late_s=2.0,
        storm_clients=2000,
        storm_reps=5,
        fanout_streams=1000,
        fanout_events=50,
        fanout_reps=3,
        fanout_delay_s=5.0,
        fanout_cap_s=90.0,
        disconnect_streams=1000,
        settle_s=3.0,
        wallet_reps=3,
        big_wallet_size=200_000,
        ramp_base_s=15.0,
        storm_deadline_s=20.0,
    ),
}
