// The cumulative realized P&L chart: an SVG polyline of our own, redrawn at most once a frame.
//
// Built with createElementNS and setAttribute only (no HTML strings): the page's
// Content-Security-Policy requires Trusted Types for every HTML sink.

import { formatCompact, formatDecimal, formatMoney, formatTime } from "./format.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const BOX = { width: 800, height: 260, left: 64, right: 16, top: 24, bottom: 32 };
// A polyline of a few thousand points is cheap; beyond, every k-th point is drawn.
const MAX_POINTS = 2000;

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function thin(points) {
  if (points.length <= MAX_POINTS) return points;
  const step = Math.ceil(points.length / MAX_POINTS);
  const kept = points.filter((_, index) => index % step === 0);
  kept.push(points[points.length - 1]);
  return kept;
}

/**
 * The chart drawn in `element` (an <svg> with the page's viewBox); `unitLabel` shows
 * "(USD)" or "(SOL)". USD is plotted when any sale's USD P&L is known, else SOL.
 */
export class PnlChart {
  constructor(element, unitLabel) {
    this.element = element;
    this.unitLabel = unitLabel;
    this.title = element.querySelector("title");
    this.reset();
  }

  /** Forget every point and draw the empty chart. */
  reset() {
    this.usd = [];
    this.sol = [];
    this.totalUsd = 0;
    this.totalSol = 0;
    this.pending = false;
    this.draw();
  }

  /** Count a trade's realized P&L, if it has one (sales of a stream in order=asc). */
  add(trade) {
    if (trade.pnl_usd !== null && trade.pnl_usd !== undefined) {
      this.totalUsd += Number(trade.pnl_usd);
      this.usd.push([trade.timestamp, this.totalUsd]);
    }
    if (trade.pnl_sol !== null && trade.pnl_sol !== undefined) {
      this.totalSol += Number(trade.pnl_sol);
      this.sol.push([trade.timestamp, this.totalSol]);
    }
  }

  /** Redraw at the next animation frame (several batches in one frame draw once). */
  schedule() {
    if (this.pending) return;
    this.pending = true;
    window.requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const [points, unit] = this.usd.length ? [this.usd, "USD"] : [this.sol, "SOL"];
    const { width, height, left, right, top, bottom } = BOX;
    this.element.replaceChildren(this.title);
    this.unitLabel.textContent = points.length ? `(${unit})` : "";
    this.element.append(svg("rect", { x: left, y: top, width: width - left - right, height: height - top - bottom, class: "plot" }));
    if (!points.length) {
      this.element.append(svg("text", { x: width / 2, y: height / 2, class: "empty", "text-anchor": "middle" }, "No realized P&L yet"));
      return;
    }
    const shown = thin(points);
    const t0 = shown[0][0];
    const t1 = Math.max(shown[shown.length - 1][0], t0 + 1);
    let low = 0;
    let high = 0;
    for (const [, value] of shown) {
      low = Math.min(low, value);
      high = Math.max(high, value);
    }
    if (high === low) high = low + 1;
    const x = (t) => left + ((t - t0) / (t1 - t0)) * (width - left - right);
    const y = (v) => top + ((high - v) / (high - low)) * (height - top - bottom);
    const [lastT, lastV] = shown[shown.length - 1];
    const total = unit === "USD" ? formatMoney(lastV) : formatDecimal(lastV);
    this.element.append(
      svg("line", { x1: left, x2: width - right, y1: y(0), y2: y(0), class: "zero" }),
      svg("polyline", { points: shown.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" "), class: "pnl" }),
      svg("text", { x: left - 6, y: y(high) + 4, "text-anchor": "end", class: "axis" }, formatCompact(high)),
      svg("text", { x: left - 6, y: y(low) + 4, "text-anchor": "end", class: "axis" }, formatCompact(low)),
      svg("text", { x: left, y: height - 10, class: "axis" }, formatTime(t0).slice(0, 10)),
      svg("text", { x: width - right, y: height - 10, "text-anchor": "end", class: "axis" }, formatTime(t1).slice(0, 10)),
      svg("circle", { cx: x(lastT), cy: y(lastV), r: 3.5, class: `last ${lastV < 0 ? "loss" : "gain"}` }),
      svg("text", { x: width - right, y: top - 8, "text-anchor": "end", class: "value" }, `${total} ${unit}`),
    );
  }
}
