// WalletDoctor's live page: one EventSource per stream, the trades table, the summary.
//
// Stream contract: docs/stream-contract.md. Rules that shape this script:
// - EventSource reconnects by itself after a network error or an end of body
//   (WHATWG HTML, "server-sent events"), so the page closes it on `complete`
//   and on any `error` event, or it would reconnect forever.
// - After a reconnect the server resumes after Last-Event-ID; event ids are
//   "<stream_id>:<seq>", and an event whose seq was already seen is skipped,
//   so that no trade is shown twice.
// - The DOM is built with createElement and textContent only: the page's
//   Content-Security-Policy requires Trusted Types for every HTML sink.

import { PnlChart } from "./chart.js";
import {
  formatCount,
  formatDecimal,
  formatDuration,
  formatMoney,
  formatRatio,
  formatTime,
  shortId,
  signClass,
} from "./format.js";

const TOP_TOKENS = 12;

const $ = (id) => document.getElementById(id);
const ui = {
  form: $("stream-form"),
  wallet: $("wallet"),
  apiKey: $("api-key"),
  stop: $("stop"),
  state: $("state"),
  stateDetail: $("state-detail"),
  progress: $("progress"),
  progressText: $("progress-text"),
  tradeCount: $("trade-count"),
  tradesBody: $("trades-body"),
  summary: $("summary"),
  summaryList: $("summary-list"),
  tokensBody: $("tokens-body"),
};
const chart = new PnlChart($("chart"), $("chart-unit"));

let run = null; // the stream on screen: see start()

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

// ---- state --------------------------------------------------------------

function setState(state, detail) {
  ui.state.textContent = state;
  ui.state.dataset.state = state;
  document.body.dataset.state = state;
  ui.stateDetail.textContent = detail || "";
  ui.stop.disabled = !(state === "connecting" || state === "connected" || state === "reconnecting");
}

function resetResults() {
  ui.tradesBody.replaceChildren();
  ui.tokensBody.replaceChildren();
  ui.summaryList.replaceChildren();
  ui.summary.hidden = true;
  ui.tradeCount.textContent = "0";
  ui.progress.value = 0;
  ui.progressText.textContent = "";
  if (run) run.trades = 0;
  chart.reset();
}

// "<stream_id>:<seq>" of an event; a heartbeat has no id and keeps the previous one.
function eventPosition(event) {
  const id = event.lastEventId || "";
  const cut = id.lastIndexOf(":");
  if (cut < 0) return null;
  const seq = Number(id.slice(cut + 1));
  return Number.isInteger(seq) ? { streamId: id.slice(0, cut), seq } : null;
}

// True for an event not seen before; false for one a resume replayed again.
function isNew(event) {
  const position = eventPosition(event);
  if (position === null || position.streamId !== run.streamId) return true;
  if (position.seq <= run.lastSeq) return false;
  run.lastSeq = position.seq;
  return true;
}

// ---- the stream ---------------------------------------------------------

function streamUrl(wallet, apiKey) {
  const url = new URL(`/v4/wallet/${encodeURIComponent(wallet)}/stream`, window.location.href);
  // Oldest first: each sale's realized P&L is known as it arrives.
  url.searchParams.set("order", "asc");
  // EventSource cannot send headers: the key goes in the query (DESIGN section 5).
  if (apiKey) url.searchParams.set("api_key", apiKey);
  return url.toString();
}

function start(wallet, apiKey) {
  stop("stopped");
  run = {
    url: streamUrl(wallet, apiKey),
    source: null,
    opened: false,
    finished: false,
    streamId: null,
    replaced: false,
    lastSeq: 0,
    trades: 0,
  };
  resetResults();
  ui.progress.removeAttribute("value");
  ui.progressText.textContent = "Opening the stream…";
  setState("connecting", wallet);
  const source = new EventSource(run.url);
  run.source = source;
  const current = run;
  const on = (name, handler) =>
    source.addEventListener(name, (event) => {
      if (run === current) handler(event);
    });

  on("open", () => {
    run.opened = true;
    setState("connected", run.streamId ? `stream ${run.streamId}` : "");
  });
  on("connected", onConnected);
  on("progress", (event) => isNew(event) && onProgress(JSON.parse(event.data)));
  on("trades", (event) => isNew(event) && onTrades(JSON.parse(event.data)));
  on("heartbeat", (event) => onHeartbeat(JSON.parse(event.data)));
  on("complete", (event) => isNew(event) && onComplete(JSON.parse(event.data)));
  on("error", onError);
}

function stop(state) {
  if (!run || !run.source) return;
  run.source.close();
  if (!run.finished) {
    run.finished = true;
    setState(state, "");
  }
}

function finish(state, detail) {
  run.finished = true;
  run.source.close();
  setState(state, detail);
}

function onConnected(event) {
  const data = JSON.parse(event.data);
  const position = eventPosition(event);
  const streamId = position ? position.streamId : data.stream_id;
  if (data.resumed && streamId === run.streamId) {
    setState("connected", `stream ${streamId}, resumed after a reconnect`);
    return;
  }
  if (run.streamId !== null && streamId !== run.streamId) {
    // The server could not resume: a new stream follows (start the page over at its
    // first results), or an error STREAM_EXPIRED does (keep what is shown).
    run.replaced = true;
  }
  run.streamId = streamId;
  run.lastSeq = position ? position.seq : 0;
  setState("connected", `stream ${streamId}`);
}

// The first results of a stream that replaced an unresumable one clear the old results.
function clearReplaced() {
  if (!run.replaced) return;
  run.replaced = false;
  resetResults();
}

function onProgress(data) {
  clearReplaced();
  if (data.percentage === null || data.percentage === undefined) {
    ui.progress.removeAttribute("value");
  } else {
    ui.progress.value = data.percentage;
  }
  ui.progressText.textContent = data.message;
}

function onHeartbeat(data) {
  if (run.finished) return;
  const at = new Date(data.timestamp * 1000).toISOString().slice(11, 19);
  ui.stateDetail.textContent = `stream ${run.streamId}, quiet, last heartbeat ${at} UTC`;
}

function onTrades(data) {
  clearReplaced();
  const rows = document.createDocumentFragment();
  for (const trade of data.trades) {
    rows.append(tradeRow(trade));
    chart.add(trade);
  }
  ui.tradesBody.append(rows);
  run.trades += data.trades.length;
  ui.tradeCount.textContent = formatCount(run.trades);
  chart.schedule();
}

function onComplete(data) {
  clearReplaced();
  ui.progress.value = 100;
  ui.progressText.textContent = `Done: ${formatCount(data.trades_found)} trades in ${data.duration} s.`;
  renderSummary(data);
  chart.draw();
  finish("complete", `${formatCount(data.trades_found)} trades`);
}

function onError(event) {
  if (event instanceof MessageEvent && event.data) {
    // The server's own `error` event: the stream is over, do not reconnect.
    const data = JSON.parse(event.data);
    if (!isNew(event)) return;
    const retry = data.retryable ? " Retrying later may work." : "";
    finish("error", `${data.error} (${data.code}).${retry}`);
    return;
  }
  if (run.finished) return;
  if (run.source.readyState === EventSource.CONNECTING) {
    // EventSource reconnects by itself and sends Last-Event-ID.
    setState(run.opened ? "reconnecting" : "connecting", run.opened ? "the connection dropped; resuming" : "");
    return;
  }
  // CLOSED: the server refused (4xx, 5xx, a wrong content type) or sent 204.
  run.finished = true;
  setState("error", "the stream could not be opened");
  explainRefusal(run);
}

// EventSource does not expose a refusal's status or body; ask once more to show why.
async function explainRefusal(refused) {
  const controller = new AbortController();
  let message = "the stream could not be opened";
  try {
    const response = await fetch(refused.url, { signal: controller.signal, headers: { Accept: "application/json" } });
    if (response.status === 204) {
      message = "the stream has already ended";
    } else if (!response.ok) {
      const body = await response.json().catch(() => null);
      message = body && body.error ? `${body.error} (${body.code}, HTTP ${response.status})` : `HTTP ${response.status}`;
    }
  } catch (_) {
    message = "the server could not be reached";
  } finally {
    controller.abort();
  }
  if (run === refused) setState("error", message);
}

// ---- tables -------------------------------------------------------------

function tokenCell(amount, symbol, mint) {
  const cell = el("td");
  cell.append(el("span", formatDecimal(amount), "amount"), " ", el("span", shortId(symbol || mint), "token"));
  cell.title = `${amount} ${mint}`;
  return cell;
}

function tradeRow(trade) {
  const row = el("tr", null, `side-${trade.side}`);
  row.dataset.signature = trade.signature;
  const price = el("td", formatDecimal(trade.price), "num");
  price.title = trade.price === null ? "" : trade.price;
  const signature = el("td", shortId(trade.signature), "signature");
  signature.title = trade.signature;
  row.append(
    el("td", formatTime(trade.timestamp), "time"),
    el("td", trade.side, "side"),
    tokenCell(trade.amount_in, trade.token_in, trade.token_in_mint),
    tokenCell(trade.amount_out, trade.token_out, trade.token_out_mint),
    price,
    el("td", formatMoney(trade.value_usd), "num"),
    el("td", formatMoney(trade.pnl_usd), `num ${signClass(trade.pnl_usd)}`),
    el("td", trade.source),
    signature,
  );
  return row;
}

function renderSummary(complete) {
  const s = complete.summary || {};
  ui.summary.dataset.tradesFound = String(complete.trades_found);
  const rows = [
    ["Trades", formatCount(s.trades_found ?? complete.trades_found)],
    ["Buys / sells / swaps", `${formatCount(s.buys)} / ${formatCount(s.sells)} / ${formatCount(s.swaps)}`],
    ["Priced trades", formatCount(s.priced_trades)],
    ["Volume (USD)", formatMoney(s.total_volume_usd)],
    ["Realized P&L (USD)", formatMoney(s.realized_pnl_usd), signClass(s.realized_pnl_usd)],
    ["Realized P&L (SOL)", formatDecimal(s.realized_pnl_sol), signClass(s.realized_pnl_sol)],
    ["Win rate (sales)", formatRatio(s.win_rate)],
    ["Win rate (tokens)", formatRatio(s.token_win_rate)],
    ["Tokens traded", formatCount(s.tokens_traded)],
    ["Fees (SOL)", formatDecimal(s.total_fees_sol)],
    ["First trade", formatTime(s.first_trade_at)],
    ["Last trade", formatTime(s.last_trade_at)],
    ["Transactions scanned", formatCount(s.transactions_scanned)],
    ["Fetched in", `${complete.duration} s`],
  ];
  const list = document.createDocumentFragment();
  for (const [term, value, className] of rows) list.append(el("dt", term), el("dd", value, className));
  ui.summaryList.replaceChildren(list);
  const tokens = document.createDocumentFragment();
  for (const token of (s.tokens || []).slice(0, TOP_TOKENS)) {
    const row = el("tr");
    const name = el("td", shortId(token.symbol || token.mint));
    name.title = token.mint;
    row.append(
      name,
      el("td", token.buys, "num"),
      el("td", token.sells, "num"),
      el("td", formatMoney(token.volume_usd), "num"),
      el("td", formatMoney(token.realized_pnl_usd), `num ${signClass(token.realized_pnl_usd)}`),
      el("td", formatRatio(token.roi), `num ${signClass(token.roi)}`),
      el("td", formatDuration(token.holding_time_s), "num"),
    );
    tokens.append(row);
  }
  ui.tokensBody.replaceChildren(tokens);
  ui.summary.hidden = false;
}

// ---- wiring -------------------------------------------------------------

ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!ui.wallet.checkValidity()) {
    setState("error", "not a Solana address");
    return;
  }
  start(ui.wallet.value.trim(), ui.apiKey.value.trim());
});
ui.stop.addEventListener("click", () => stop("stopped"));
window.addEventListener("pagehide", () => stop("stopped"));
