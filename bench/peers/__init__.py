"""The servers WalletDoctor is measured against, one small file each.

Every peer serves the same workload shape on ``GET /stream`` (query
parameters in :mod:`bench.peers.frames`): a ``connected`` event at once,
then either ``heartbeat`` events every ``heartbeat_s`` until the client
leaves or ``max_s`` passes (idle), or, after ``delay`` seconds, ``events``
``trades`` events of ``size`` bytes each and the end of the response
(fan-out). They count their open streams so that the bench can see when a
vanished client has been released.

- ``floor.py``: the least an aiohttp handler can do (pre-encoded bytes);
- ``starlette_sse.py``: sse-starlette on uvicorn (uvloop, httptools);
- ``flask_sse.py``: Flask on gunicorn, sync or gthread workers (the
  original WalletDoctor's stack);
- ``node_sse.js``: Node.js' ``http`` module.
"""

__all__: list[str] = []
