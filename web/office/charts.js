// Bar charts as SVG, drawn in plain JS: grouped bars (vertical or horizontal) and stacked
// rows. Every bar carries its figure (data-series, data-cat, data-value), a <title> and a
// printed label, so the chart reads without colour and prints in black and white.
import { s, h, num } from './common.js';

let uid = 0;
const PAD = { top: 16, right: 12, bottom: 8, left: 40 };

// A step of 1, 2 or 5 × 10^n giving about `ticks` intervals up to max; whole steps for counts.
function scale(max, ticks = 4, whole = true) {
  if (!(max > 0)) return { top: whole ? ticks : 1, step: whole ? 1 : 0.25 };
  const raw = max / ticks;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  let step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  if (whole) step = Math.max(1, Math.round(step));
  return { top: Math.ceil(max / step) * step, step };
}

// Splits a label into at most two lines of about `width` characters.
function lines(text, width) {
  if (text.length <= width) return [text];
  const words = text.split(' ');
  let a = '';
  while (words.length && (a + ' ' + words[0]).trim().length <= width) a = (a + ' ' + words.shift()).trim();
  if (!a) a = words.shift();
  let b = words.join(' ');
  if (b.length > width) b = `${b.slice(0, width - 1)}…`;
  return b ? [a, b] : [a];
}

function frame(title, desc, width, height) {
  const id = `chart${++uid}`;
  return s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-labelledby': `${id}-t ${id}-d`, preserveAspectRatio: 'xMinYMin meet' },
    s('title', { id: `${id}-t` }, title), s('desc', { id: `${id}-d` }, desc));
}

export function legend(series) {
  return h('ul', { class: 'legend' }, series.map((x, i) => h('li', {}, h('i', { class: `s${x.color ?? i}`, 'aria-hidden': 'true' }), x.label)));
}

const describe = (cats, series, value, fmt) =>
  cats.map((c) => `${c.label}: ${series.map((x) => `${x.label} ${fmt(value(c, x))}`).join(', ')}`).join('; ');

// Vertical grouped bars. cats [{key, label}], series [{key, label, color?}], value(cat, series) → number|null.
export function columns({ title, cats, series, value, fmt = (v) => num(v), whole = true, width = 640, height = 300 }) {
  const svg = frame(title, describe(cats, series, value, fmt), width, height);
  const labelH = 34;
  const plotW = width - PAD.left - PAD.right, plotH = height - PAD.top - PAD.bottom - labelH;
  const max = Math.max(0, ...cats.flatMap((c) => series.map((x) => Number(value(c, x)) || 0)));
  const { top, step } = scale(max, 4, whole);
  const y = (v) => PAD.top + plotH - (plotH * v) / top;
  for (let v = 0; v <= top + 1e-9; v += step) {
    svg.append(s('line', { class: v ? 'grid' : 'axis', x1: PAD.left, x2: width - PAD.right, y1: y(v), y2: y(v) }),
      s('text', { x: PAD.left - 5, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11 }, fmt(v)));
  }
  const band = plotW / Math.max(1, cats.length);
  const barW = Math.min(42, (band * 0.78) / series.length);
  const chars = Math.max(6, Math.floor(band / 6.5));
  cats.forEach((c, i) => {
    const x0 = PAD.left + band * i + (band - barW * series.length) / 2;
    series.forEach((x, j) => {
      const v = value(c, x);
      const n = Number(v) || 0;
      const bx = x0 + barW * j;
      svg.append(s('rect', { class: `bar s${x.color ?? j}`, x: bx + 1, y: y(n), width: barW - 2, height: Math.max(0, y(0) - y(n)),
        'data-series': x.key, 'data-cat': c.key, 'data-value': v ?? '' }, s('title', {}, `${c.label} · ${x.label}: ${fmt(v)}`)),
      s('text', { x: bx + barW / 2, y: y(n) - 3, 'text-anchor': 'middle', 'font-size': 11, 'data-label': `${c.key}|${x.key}` }, fmt(v)));
    });
    lines(c.label, chars).forEach((ln, k) =>
      svg.append(s('text', { x: PAD.left + band * i + band / 2, y: PAD.top + plotH + 15 + k * 13, 'text-anchor': 'middle', 'font-size': 11 }, ln)));
  });
  return svg;
}

// Horizontal grouped bars, for long category names (services).
export function rows({ title, cats, series, value, fmt = (v) => num(v), whole = true, width = 640, labelW = 230 }) {
  const barH = 13, gap = 9;
  const rowH = barH * series.length + gap;
  const height = PAD.top + rowH * cats.length + 22;
  const svg = frame(title, describe(cats, series, value, fmt), width, height);
  const plotW = width - labelW - PAD.right - 34;
  const max = Math.max(0, ...cats.flatMap((c) => series.map((x) => Number(value(c, x)) || 0)));
  const { top, step } = scale(max, 4, whole);
  const x = (v) => labelW + (plotW * v) / top;
  const bottom = PAD.top + rowH * cats.length;
  for (let v = 0; v <= top + 1e-9; v += step) {
    svg.append(s('line', { class: v ? 'grid' : 'axis', x1: x(v), x2: x(v), y1: PAD.top - 4, y2: bottom }),
      s('text', { x: x(v), y: bottom + 14, 'text-anchor': 'middle', 'font-size': 11 }, fmt(v)));
  }
  const chars = Math.floor(labelW / 6.4);
  cats.forEach((c, i) => {
    const y0 = PAD.top + rowH * i;
    const name = c.label.length > chars ? `${c.label.slice(0, chars - 1)}…` : c.label;
    svg.append(s('text', { x: labelW - 6, y: y0 + (barH * series.length) / 2 + 4, 'text-anchor': 'end', 'font-size': 11.5 },
      s('title', {}, c.label), name));
    series.forEach((ser, j) => {
      const v = value(c, ser);
      const n = Number(v) || 0;
      const by = y0 + barH * j;
      svg.append(s('rect', { class: `bar s${ser.color ?? j}`, x: x(0), y: by + 1, width: Math.max(0, x(n) - x(0)), height: barH - 2,
        'data-series': ser.key, 'data-cat': c.key, 'data-value': v ?? '' }, s('title', {}, `${c.label} · ${ser.label}: ${fmt(v)}`)),
      s('text', { x: x(n) + 4, y: by + barH - 3, 'font-size': 10.5, 'data-label': `${c.key}|${ser.key}` }, fmt(v)));
    });
  });
  return svg;
}

// Stacked rows: each row's parts side by side in proportion, its headline figure on the right.
// rowsIn [{key, label, parts: {key: n}, headline}], parts [{key, label, color}].
export function stacked({ title, rowsIn, parts, fmt = (v) => num(v), width = 640, labelW = 150 }) {
  const barH = 26, gap = 16;
  const height = PAD.top + (barH + gap) * rowsIn.length + 4;
  const desc = rowsIn.map((r) => `${r.label}: ${parts.map((p) => `${p.label} ${fmt(r.parts[p.key])}`).join(', ')}; ${r.headline ?? ''}`).join('; ');
  const svg = frame(title, desc, width, height);
  const plotW = width - labelW - 90;
  rowsIn.forEach((r, i) => {
    const y0 = PAD.top + (barH + gap) * i;
    const total = parts.reduce((n, p) => n + (Number(r.parts[p.key]) || 0), 0);
    svg.append(s('text', { x: labelW - 8, y: y0 + barH / 2 + 4, 'text-anchor': 'end', 'font-size': 12 }, r.label));
    let x = labelW;
    if (!total) svg.append(s('rect', { class: 'bar s3', x, y: y0, width: plotW, height: barH, 'data-cat': r.key, 'data-value': 0 }));
    parts.forEach((p) => {
      const v = Number(r.parts[p.key]) || 0;
      const w = total ? (plotW * v) / total : 0;
      svg.append(s('rect', { class: `bar s${p.color}`, x, y: y0, width: w, height: barH, 'data-series': p.key, 'data-cat': r.key, 'data-value': r.parts[p.key] ?? '' },
        s('title', {}, `${r.label} · ${p.label}: ${fmt(r.parts[p.key])}`)));
      if (w > 30) svg.append(s('text', { x: x + w / 2, y: y0 + barH / 2 + 4, 'text-anchor': 'middle', 'font-size': 11, fill: p.color === 3 ? '#1b1b1b' : '#fff', style: `fill:${p.color === 3 ? '#1b1b1b' : '#fff'}` }, fmt(v)));
      x += w;
    });
    svg.append(s('text', { x: labelW + plotW + 8, y: y0 + barH / 2 + 5, 'font-size': 14, 'font-weight': 700, 'data-label': `${r.key}|headline` }, r.headline ?? ''));
  });
  return svg;
}
