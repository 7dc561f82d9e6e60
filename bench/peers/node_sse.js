// A plain Node.js `http` server serving the stream workload: the non-Python reference.
//
// Same routes and query as the Python peers (bench/peers/frames.py):
//   GET /stream?events=N&size=BYTES&delay=S&max_s=S  connected, then heartbeats
//       (idle) or N trades frames of BYTES bytes after S seconds (fan-out);
//   GET /stats  {"active": open streams}
// Trades frames are built once per size and written to every stream.
//
// Run: node bench/peers/node_sse.js --port 8104 [--heartbeat 10]
'use strict';

const http = require('http');

const MAX_S = 600;

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

const host = option('--host', '127.0.0.1');
const port = Number(option('--port', '0'));
const heartbeatMs = Number(option('--heartbeat', '10')) * 1000;

const TRADE = {
  signature: '5g5rkbqii8rkHfgC8CWLDB2bBzKeoXcqmjyFbMvxUW9xXEEHnFc1QRqiG9eEcxdmLk6XgjVpJRnwYqqbWZKg3eBP',
  slot: 349787167, timestamp: 1751126222, source: 'RAYDIUM', side: 'sell', token_in: 'lub', token_out: 'SOL',
  token_in_mint: '2GaUUmQFCHSMLRMySzjvdqwLCcGVdUpcsQDanpjwmoon',
  token_out_mint: 'So11111111111111111111111111111111111111112',
  amount_in: '1986656.546333', amount_out: '0.077849895', price: '0.0000000391863883788551605',
  value_usd: null, fee_sol: '0.020783498', pnl_usd: null,
};

const framesBySize = new Map();

// The trades frames of one size, each exactly `size` bytes, built once.
function tradesFrames(size, events) {
  const key = `${size}:${events}`;
  if (framesBySize.has(key)) return framesBySize.get(key);
  const frames = [];
  const tradeBytes = JSON.stringify(TRADE).length + 1;
  for (let batch = 0; batch < events; batch++) {
    const head = `id: fanout:${batch + 1}\nevent: trades\ndata: `;
    const count = Math.max(0, Math.floor((size - head.length - 2 - 120) / tradeBytes));
    const body = { trades: new Array(count).fill(TRADE), batch_num: batch + 1,
      total_yielded: count * (batch + 1), has_more: batch + 1 < events, pad: '' };
    body.pad = 'x'.repeat(size - head.length - 2 - JSON.stringify(body).length);
    frames.push(Buffer.from(`${head}${JSON.stringify(body)}\n\n`));
  }
  framesBySize.set(key, frames);
  return frames;
}

let active = 0;
let ids = 0;

function stream(req, res, query) {
  const events = Number(query.get('events') || 0);
  const size = Number(query.get('size') || 50000);
  const delay = Number(query.get('delay') || 0);
  const maxS = Math.min(Number(query.get('max_s') || MAX_S), MAX_S);
  if (!(events >= 0 && events <= 10000 && size >= 200 && size <= 10000000 && delay >= 0 && delay <= maxS)) {
    res.writeHead(400).end('bad query');
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
  const streamId = `node-${ids++}`;
  active++;
  const timers = [];
  let open = true;
  const finish = () => {
    if (!open) return;
    open = false;
    active--;
    timers.forEach(clearTimeout);
    timers.forEach(clearInterval);
  };
  res.on('close', finish);
  res.write(`retry: 3000\nid: ${streamId}:1\nevent: connected\ndata: ${JSON.stringify(
    { stream_id: streamId, wallet: 'bench', timestamp: Date.now() / 1000, resumed: false })}\n\n`);
  if (events > 0) {
    const frames = tradesFrames(size, events);
    timers.push(setTimeout(() => {
      let next = 0;
      // Honour backpressure: wait for 'drain' when the socket buffer is full.
      const pump = () => {
        while (open && next < frames.length) {
          if (!res.write(frames[next++])) { res.once('drain', pump); return; }
        }
        if (open) res.end();
      };
      pump();
    }, delay * 1000));
  } else {
    timers.push(setInterval(() => {
      res.write(`event: heartbeat\ndata: {"timestamp":${Date.now() / 1000}}\n\n`);
    }, heartbeatMs));
    timers.push(setTimeout(() => res.end(), maxS * 1000));
  }
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://bench');
  if (url.pathname === '/stream') return stream(req, res, url.searchParams);
  if (url.pathname === '/stats') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    return res.end(JSON.stringify({ active }));
  }
  res.writeHead(404).end();
});
// Streams last longer than Node's default request and keep-alive timeouts.
server.requestTimeout = 0;
server.headersTimeout = 60000;
server.listen(port, host, () => console.log(`node_sse listening on ${host}:${port}`));
