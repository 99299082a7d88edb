// fmlib explorers drawn in the browser (anywidget ES module, self-contained, no imports).
//
// The kernel sends once: a PNG still of the static artists, a transparent PNG of the static
// artists drawn above the moving ones, an atlas of the texts, and one binary buffer with the
// moving layers at every state (fmlib/widgets/client.py). This module draws a state on a canvas
// between the two stills, with each axes' data -> pixel affine, and runs Play
// (requestAnimationFrame, positions interpolated between saved states), the t slider and the
// other controls itself, and reports the state it shows back to the kernel (the `index` trait,
// at most every REPORT_MS while a control moves, and when Play stops). An array is stored only
// along the controls it depends on (`dims`). Sections 6.1-6.5.

const TRAIL = 8; // saved states behind each particle when trails are on
const REPORT_MS = 150; // the page tells the kernel its state at most this often

function bytesOf(value) {
  if (!value) return new Uint8Array(0);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === "string") { // base64, as some managers keep it
    const s = atob(value); const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  return new Uint8Array(0);
}

function pngURL(value) {
  const b = bytesOf(value);
  return b.length ? URL.createObjectURL(new Blob([b], { type: "image/png" })) : null;
}

function arrays(blob, counts) {
  const copy = bytesOf(blob).slice(); // own, aligned buffer
  return (ref) => {
    if (!ref || !ref.shape) return null;
    const n = ref.shape.reduce((a, b) => a * b, 1);
    const Type = ref.dtype === "uint8" ? Uint8Array : Float32Array;
    const dims = ref.dims || counts.map((_, i) => i);
    // a state's row: its indices along the controls this array depends on
    const row = (s) => {
      const idx = new Array(counts.length);
      for (let i = counts.length - 1; i >= 0; i--) { idx[i] = s % counts[i]; s = Math.floor(s / counts[i]); }
      let r = 0; for (const d of dims) r = r * counts[d] + idx[d];
      return r;
    };
    return { data: new Type(copy.buffer, ref.offset, n), shape: ref.shape, per: !!ref.per_state, row };
  };
}

// the row of state `s` of a per-state array (or the one array), as a subarray
function at(a, s) {
  if (!a) return null;
  if (!a.per) return a.data;
  const size = a.data.length / a.shape[0], r = a.row(s);
  return a.data.subarray(r * size, (r + 1) * size);
}

function css(rgba, i) {
  const k = rgba.length >= 4 * (i + 1) ? 4 * i : 0;
  return `rgba(${Math.round(rgba[k] * 255)},${Math.round(rgba[k + 1] * 255)},${Math.round(rgba[k + 2] * 255)},${rgba[k + 3]})`;
}

// matplotlib's Quiver._h_arrows for one arrow of `length` (arrow-width units): 8 vertices
function arrowVerts(length, g) {
  const minsh = g.minshaft * g.headlength;
  length = Math.min(Math.max(length, 0), 65536);
  let X, Y;
  if (length < minsh) {
    const s = minsh ? length / minsh : 0;
    X = [0, minsh - g.headaxislength, minsh - g.headlength, minsh].map((v) => v * s);
    Y = [0.5, 0.5, 0.5 * g.headwidth, 0].map((v) => v * s);
  } else {
    X = [0, length - g.headaxislength, length - g.headlength, length];
    Y = [0.5, 0.5, 0.5 * g.headwidth, 0];
  }
  const ii = [0, 1, 2, 3, 2, 1, 0, 0];
  let xs = ii.map((i) => X[i]);
  const ys = ii.map((i, j) => (j >= 3 && j < 7 ? -Y[i] : Y[i]));
  if (g.pivot === "middle") { const m = 0.5 * xs[3]; xs = xs.map((v) => v - m); }
  else if (g.pivot === "tip") { const m = xs[3]; xs = xs.map((v) => v - m); }
  if (length < g.minlength) {
    xs = []; const yh = [];
    for (let k = 0; k < 8; k++) { xs.push(Math.cos(k * Math.PI / 3) * g.minlength * 0.5); yh.push(Math.sin(k * Math.PI / 3) * g.minlength * 0.5); }
    return [xs, yh];
  }
  return [xs, ys];
}

function render({ model, el }) {
  const spec = model.get("spec");
  const counts = spec.counts;
  const get = arrays(model.get("blob"), counts);
  // the page's words and font, in the kernel's language (older saved states have none)
  const ui = Object.assign({ play: "play", pause: "pause", trails: "trails",
    keys: "Space: play or pause; arrow keys: step t", font: "13px sans-serif" }, spec.ui || {});
  const words = ui;
  const ctrls = spec.controls;
  const tPos = ctrls.findIndex((c) => c.key === spec.time);
  let index = (model.get("index") || ctrls.map((c) => c.index)).slice();
  let phase = 0; // fraction between the t state shown and the next one (Play)
  let playing = false, trails = false, draws = 0;

  const layers = spec.layers.map((L) => {
    const out = { ...L, visibleA: get(L.visible) };
    for (const key of ["xy", "uv", "rgba", "radius", "segments", "width", "palette", "values", "edges", "baseline"]) {
      if (L[key] && L[key].shape) out[key + "A"] = get(L[key]);
    }
    if (L.type === "image") {
      const a = out.rgbaA; const [h, w] = a.per ? a.shape.slice(1, 3) : a.shape.slice(0, 2);
      out.h = h; out.w = w; out.off = document.createElement("canvas");
      out.off.width = w; out.off.height = h; out.shown = -1;
    }
    return out;
  });

  // ---------------------------------------------------------------- the page
  const root = document.createElement("div");
  root.className = "fm-client-root";
  // keys pressed on the controls are theirs, not JupyterLab's shortcuts (Lumino honours this)
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  const bar = document.createElement("div");
  bar.className = "fm-client-controls";
  bar.style.cssText = "display:flex;flex-wrap:wrap;align-items:center;gap:4px 12px;margin:2px 0 6px;font:" + ui.font;
  const stage = document.createElement("div");
  stage.className = "fm-client-stage";
  stage.tabIndex = 0;
  stage.setAttribute("role", "img");
  stage.setAttribute("aria-label", spec.alt + (tPos >= 0 ? ` (${words.keys})` : ""));
  stage.style.cssText = `position:relative;width:${spec.width}px;max-width:100%;outline-offset:2px`;
  const still = document.createElement("img");
  still.alt = spec.alt;
  still.src = pngURL(model.get("still"));
  still.style.cssText = `display:block;width:${spec.width}px;max-width:100%;height:auto`;
  const canvas = document.createElement("canvas");
  canvas.style.cssText = "position:absolute;left:0;top:0;width:100%;height:100%;pointer-events:none";
  stage.append(still, canvas);
  const overURL = pngURL(model.get("overlay"));
  if (overURL) {
    const over = document.createElement("img");
    over.alt = ""; over.src = overURL; over.className = "fm-client-overlay";
    over.style.cssText = "position:absolute;left:0;top:0;width:100%;height:auto;pointer-events:none";
    stage.append(over);
  }
  const atlas = new Image();
  const atlasURL = pngURL(model.get("atlas"));
  if (atlasURL) { atlas.onload = () => draw(); atlas.src = atlasURL; }
  root.append(bar, stage);
  el.append(root);

  // ---------------------------------------------------------------- controls
  const readouts = [], inputs = [];
  let playButton = null;
  ctrls.forEach((c, i) => {
    const box = document.createElement("div");
    box.style.cssText = "display:flex;align-items:center;gap:6px";
    if (i === tPos) {
      const label = document.createElement("span"); label.textContent = words.play;
      playButton = document.createElement("button");
      playButton.className = "fm-client-play"; playButton.type = "button";
      playButton.setAttribute("aria-label", words.play);
      playButton.textContent = "▶"; playButton.style.cssText = "min-width:2.6em";
      playButton.onclick = () => (playing ? stop() : start());
      box.append(label, playButton);
    }
    const label = document.createElement("label"); label.textContent = c.description;
    box.append(label);
    if (c.kind === "options") {
      const group = document.createElement("div"); group.setAttribute("role", "radiogroup");
      group.setAttribute("aria-label", c.description);
      const buttons = c.labels.map((text, j) => {
        const b = document.createElement("button"); b.type = "button"; b.textContent = text;
        b.className = "fm-client-option"; b.setAttribute("role", "radio");
        b.onclick = () => { set(i, j); report(); };
        group.append(b); return b;
      });
      inputs[i] = { sync: () => buttons.forEach((b, j) => { b.setAttribute("aria-checked", String(j === index[i])); b.style.fontWeight = j === index[i] ? "bold" : "normal"; b.style.background = j === index[i] ? "#cfe3f5" : ""; }) };
      box.append(group);
    } else {
      const input = document.createElement("input");
      input.type = "range"; input.min = 0; input.max = counts[i] - 1; input.step = 1;
      input.className = "fm-client-slider"; input.setAttribute("aria-label", c.description);
      input.style.width = i === tPos ? "400px" : "160px";
      input.oninput = () => { if (i === tPos) stop(); set(i, Number(input.value)); report(); };
      input.addEventListener("keydown", (e) => { // the same steps in every front end
        const to = { ArrowRight: index[i] + 1, ArrowUp: index[i] + 1, ArrowLeft: index[i] - 1,
          ArrowDown: index[i] - 1, Home: 0, End: counts[i] - 1, PageUp: index[i] + 5, PageDown: index[i] - 5 }[e.key];
        if (to === undefined) return;
        e.preventDefault(); e.stopPropagation();
        if (i === tPos) stop();
        set(i, to); report();
      });
      const out = document.createElement("span"); out.className = "widget-readout";
      out.style.cssText = "min-width:3em;font-variant-numeric:tabular-nums";
      readouts[i] = out;
      inputs[i] = { sync: () => { input.value = index[i]; input.setAttribute("aria-valuetext", c.labels[index[i]]); out.textContent = c.labels[index[i]]; } };
      box.append(input, out);
    }
    bar.append(box);
  });
  if (tPos >= 0 && layers.some((L) => L.type === "points" && L.xyA && L.xyA.per)) {
    const label = document.createElement("label");
    const box = document.createElement("input"); box.type = "checkbox"; box.className = "fm-client-trails";
    box.onchange = () => { trails = box.checked; draw(); };
    label.append(box, " " + words.trails); bar.append(label);
  }

  function sync() { inputs.forEach((x) => x && x.sync()); }
  // the kernel learns the state shown (explorer.state), at most every REPORT_MS: a drag sends
  // a few small messages, not one per pixel; Play reports where it stopped
  let reportTimer = 0, reported = (model.get("index") || []).join(",");
  function report() {
    if (reportTimer) return;
    reportTimer = setTimeout(() => {
      reportTimer = 0;
      const now = index.join(",");
      if (now === reported) return;
      reported = now;
      try { model.set("index", index.slice()); model.save_changes(); }
      catch (e) { /* a page with no kernel (the course site): nobody to tell */ }
    }, REPORT_MS);
  }
  function set(i, j) {
    index[i] = Math.max(0, Math.min(counts[i] - 1, j)); phase = 0; sync(); draw();
  }

  // ---------------------------------------------------------------- drawing
  const ctx = canvas.getContext("2d");
  let scale = 1; // canvas pixels per figure pixel
  function resize() {
    const shown = still.getBoundingClientRect().width || spec.width;
    const dpr = window.devicePixelRatio || 1;
    scale = (shown / spec.width) * dpr;
    canvas.width = Math.round(spec.width * scale);
    canvas.height = Math.round(spec.height * scale);
    draw();
  }
  function stateOf(idx) { let s = 0; for (let i = 0; i < counts.length; i++) s = s * counts[i] + idx[i]; return s; }

  function toPx(A, x, y) { return [A[0] * x + A[2] * y + A[4], A[1] * x + A[3] * y + A[5]]; }

  function clip(L) {
    if (L.axes === null || L.axes === undefined || !L.clip) return;
    const [x, y, w, h] = spec.axes[L.axes].box;
    ctx.beginPath(); ctx.rect(x, y, w, h); ctx.clip();
  }

  function drawPoints(L, s, s2, f) {
    const A = spec.axes[L.axes].affine;
    const xy = at(L.xyA, s), xy2 = s2 >= 0 ? at(L.xyA, s2) : null;
    const rad = at(L.radiusA, s), n = xy.length / 2;
    let rgba = at(L.rgbaA, s), colourOf = null;
    if (L.paletteA) { // one byte a point: an index into the layer's colours
      if (!L.paletteCss) L.paletteCss = Array.from({ length: L.paletteA.data.length / 4 }, (_, i) => css(L.paletteA.data, i));
      const idx = rgba; colourOf = (p) => L.paletteCss[idx[p]];
      rgba = { length: 4 * n }; // many colours
    } else colourOf = (p) => css(rgba, p);
    if (trails && tPos >= 0 && L.xyA.per) {
      // the last TRAIL saved states of each particle, then where it is now; one path per colour
      const k = index[tPos], back = Math.min(TRAIL, k), one = rgba.length === 4;
      const rows = [];
      for (let j = back; j >= 1; j--) rows.push(at(L.xyA, s - j));
      rows.push(xy);
      ctx.lineWidth = 1; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.globalAlpha = 0.45;
      if (one) { ctx.strokeStyle = css(rgba, 0); ctx.beginPath(); }
      for (let p = 0; p < n; p++) {
        if (!one) { ctx.strokeStyle = colourOf(p); ctx.beginPath(); }
        for (let j = 0; j < rows.length; j++) {
          const r = rows[j], x = r[2 * p], y = r[2 * p + 1];
          const px = A[0] * x + A[2] * y + A[4], py = A[1] * x + A[3] * y + A[5];
          j ? ctx.lineTo(px, py) : ctx.moveTo(px, py);
        }
        if (xy2) {
          const x = xy[2 * p] + f * (xy2[2 * p] - xy[2 * p]), y = xy[2 * p + 1] + f * (xy2[2 * p + 1] - xy[2 * p + 1]);
          ctx.lineTo(A[0] * x + A[2] * y + A[4], A[1] * x + A[3] * y + A[5]);
        }
        if (!one) ctx.stroke();
      }
      if (one) ctx.stroke();
      ctx.globalAlpha = 1;
    }
    const one = rgba.length === 4;
    if (L.marker) { // a polygon marker (X, star): matplotlib's vertices, scaled by the size
      if (one) { ctx.fillStyle = ctx.strokeStyle = css(rgba, 0); }
      ctx.lineWidth = L.edge; ctx.lineJoin = "round";
      for (let p = 0; p < n; p++) {
        let x = xy[2 * p], y = xy[2 * p + 1];
        if (xy2) { x += f * (xy2[2 * p] - x); y += f * (xy2[2 * p + 1] - y); }
        if (!isFinite(x) || !isFinite(y)) continue;
        const px = A[0] * x + A[2] * y + A[4], py = A[1] * x + A[3] * y + A[5];
        const k = 2 * (rad.length > 1 ? rad[p] : rad[0]); // sqrt(s) points, in pixels
        if (!one) ctx.fillStyle = ctx.strokeStyle = colourOf(p);
        ctx.beginPath();
        for (const poly of L.marker) {
          for (let j = 0; j < poly.length; j += 2) {
            const X = px + k * poly[j], Y = py - k * poly[j + 1];
            j ? ctx.lineTo(X, Y) : ctx.moveTo(X, Y);
          }
          ctx.closePath();
        }
        ctx.fill();
        if (L.edge > 0) ctx.stroke();
      }
      return;
    }
    if (one && rad.length === 1) { // one colour, one size: stamp a dot drawn once (fast)
      const dot = dotSprite(css(rgba, 0), rad[0]), half = dot.size / 2;
      for (let p = 0; p < n; p++) {
        let x = xy[2 * p], y = xy[2 * p + 1];
        if (xy2) { x += f * (xy2[2 * p] - x); y += f * (xy2[2 * p + 1] - y); }
        if (!isFinite(x) || !isFinite(y)) continue;
        ctx.drawImage(dot.canvas, A[0] * x + A[2] * y + A[4] - half, A[1] * x + A[3] * y + A[5] - half, dot.size, dot.size);
      }
      return;
    }
    if (one) ctx.fillStyle = css(rgba, 0);
    for (let p = 0; p < n; p++) {
      let x = xy[2 * p], y = xy[2 * p + 1];
      if (xy2) { x += f * (xy2[2 * p] - x); y += f * (xy2[2 * p + 1] - y); }
      if (!isFinite(x) || !isFinite(y)) continue;
      const px = A[0] * x + A[2] * y + A[4], py = A[1] * x + A[3] * y + A[5];
      if (!one) ctx.fillStyle = colourOf(p);
      ctx.beginPath(); ctx.arc(px, py, rad.length > 1 ? rad[p] : rad[0], 0, 2 * Math.PI); ctx.fill();
    }
  }

  const dots = new Map();
  function dotSprite(colour, r) { // a dot of radius r (figure px) at the canvas's resolution
    const key = `${colour}|${r}|${scale}`;
    if (!dots.has(key)) {
      const size = Math.ceil(2 * r + 2), c = document.createElement("canvas");
      c.width = c.height = Math.ceil(size * scale);
      const g = c.getContext("2d");
      g.scale(c.width / size, c.height / size);
      g.fillStyle = colour; g.beginPath(); g.arc(size / 2, size / 2, r, 0, 2 * Math.PI); g.fill();
      dots.set(key, { canvas: c, size });
    }
    return dots.get(key);
  }

  function drawQuiver(L, s, s2, f) {
    const A = spec.axes[L.axes].affine, g = L.arrow;
    const xy = at(L.xyA, s), uv = at(L.uvA, s), uv2 = s2 >= 0 ? at(L.uvA, s2) : null;
    const rgba = at(L.rgbaA, s), one = rgba.length === 4;
    if (one) ctx.fillStyle = css(rgba, 0);
    const k = g.width * g.dots; // pixels per arrow-width unit
    for (let p = 0; p < xy.length / 2; p++) {
      let u = uv[2 * p], v = uv[2 * p + 1];
      if (uv2) { u += f * (uv2[2 * p] - u); v += f * (uv2[2 * p + 1] - v); }
      const dx = A[0] * u + A[2] * v, dy = -(A[1] * u + A[3] * v); // display (y up)
      const length = Math.hypot(dx, dy) / (g.dots * g.scale * g.width);
      const theta = Math.atan2(dy, dx), c = Math.cos(theta), sn = Math.sin(theta);
      const [xs, ys] = arrowVerts(length, g);
      const [ox, oy] = toPx(A, xy[2 * p], xy[2 * p + 1]);
      if (!one) ctx.fillStyle = css(rgba, p);
      ctx.beginPath();
      for (let j = 0; j < xs.length; j++) {
        const X = (xs[j] * c - ys[j] * sn) * k, Y = (xs[j] * sn + ys[j] * c) * k;
        j ? ctx.lineTo(ox + X, oy - Y) : ctx.moveTo(ox + X, oy - Y);
      }
      ctx.closePath(); ctx.fill();
    }
  }

  function drawImage(L, s) {
    if (L.shown !== s) {
      const px = at(L.rgbaA, s), rgba = new Uint8ClampedArray(L.w * L.h * 4);
      if (L.paletteA) { // one byte a pixel: an index into the image's colours
        const pal = L.paletteA.data;
        for (let i = 0; i < px.length; i++) for (let c = 0; c < 4; c++) rgba[4 * i + c] = pal[4 * px[i] + c];
      } else rgba.set(px);
      L.off.getContext("2d").putImageData(new ImageData(rgba, L.w, L.h), 0, 0);
      L.shown = s;
    }
    const A = spec.axes[L.axes].affine, [x0, x1, y0, y1] = L.extent;
    const [ax, ay] = toPx(A, x0, y0), [bx, by] = toPx(A, x1, y1);
    ctx.imageSmoothingEnabled = !!L.smooth;
    ctx.save();
    if (L.origin === "lower") { ctx.translate(ax, ay); ctx.scale(1, -1); ctx.drawImage(L.off, 0, 0, bx - ax, ay - by); }
    else { ctx.drawImage(L.off, ax, by, bx - ax, ay - by); }
    ctx.restore();
  }

  function drawLines(L, s) {
    const A = spec.axes[L.axes].affine, seg = at(L.segmentsA, s), rgba = at(L.rgbaA, s), w = at(L.widthA, s);
    const [m, k] = L.segmentsA.per ? L.segmentsA.shape.slice(1) : L.segmentsA.shape;
    if (L.paletteA && !L.paletteCss) L.paletteCss = Array.from({ length: L.paletteA.data.length / 4 }, (_, i) => css(L.paletteA.data, i));
    for (let i = 0; i < m; i++) { // a colour a line, or one byte a line into the layer's colours
      ctx.beginPath(); ctx.strokeStyle = L.paletteA ? L.paletteCss[rgba[i]] : css(rgba, i); ctx.lineWidth = w.length > 1 ? w[i] : w[0];
      let pen = false; // lifted at a NaN (padding)
      for (let j = 0; j < k; j++) {
        const q = 2 * (i * k + j), x = seg[q], y = seg[q + 1];
        if (!isFinite(x) || !isFinite(y)) { pen = false; continue; }
        const [px, py] = toPx(A, x, y);
        pen ? ctx.lineTo(px, py) : ctx.moveTo(px, py); pen = true;
      }
      ctx.stroke();
    }
  }

  function drawStairs(L, s) { // matplotlib's StepPatch: steps on fixed edges, down to the baseline
    const A = spec.axes[L.axes].affine, v = at(L.valuesA, s), e = at(L.edgesA, s), b = at(L.baselineA, s)[0];
    const rgba = (c) => `rgba(${Math.round(c[0] * 255)},${Math.round(c[1] * 255)},${Math.round(c[2] * 255)},${c[3]})`;
    ctx.beginPath();
    let [px, py] = toPx(A, e[0], b); ctx.moveTo(px, py);
    for (let i = 0; i < v.length; i++) {
      [px, py] = toPx(A, e[i], v[i]); ctx.lineTo(px, py);
      [px, py] = toPx(A, e[i + 1], v[i]); ctx.lineTo(px, py);
    }
    [px, py] = toPx(A, e[v.length], b); ctx.lineTo(px, py);
    if (L.fill) { ctx.fillStyle = rgba(L.face); ctx.fill(); }
    if (L.width > 0 && L.edge[3] > 0) { ctx.strokeStyle = rgba(L.edge); ctx.lineWidth = L.width; ctx.stroke(); }
  }

  function drawMarks(L, s) { // a Line2D's markers (no line): matplotlib's polygon at each point
    const xy = at(L.xyA, s), rgba = (c) => `rgba(${Math.round(c[0] * 255)},${Math.round(c[1] * 255)},${Math.round(c[2] * 255)},${c[3]})`;
    ctx.fillStyle = rgba(L.face); ctx.strokeStyle = rgba(L.edge); ctx.lineWidth = L.edge_width; ctx.lineJoin = "round";
    for (let p = 0; p < xy.length / 2; p++) {
      const px = xy[2 * p], py = xy[2 * p + 1];
      if (!isFinite(px) || !isFinite(py)) continue;
      ctx.beginPath();
      for (const poly of L.marker) {
        for (let j = 0; j < poly.length; j += 2) j ? ctx.lineTo(px + poly[j], py - poly[j + 1]) : ctx.moveTo(px + poly[j], py - poly[j + 1]);
        ctx.closePath();
      }
      if (L.face[3] > 0) ctx.fill();
      if (L.edge_width > 0 && L.edge[3] > 0) ctx.stroke();
    }
  }

  function drawPolyline(L, s) {
    const xy = at(L.xyA, s), [r, g, b, a] = L.colour;
    ctx.strokeStyle = `rgba(${Math.round(r * 255)},${Math.round(g * 255)},${Math.round(b * 255)},${a})`;
    ctx.lineWidth = L.width; ctx.lineCap = L.cap === "projecting" ? "square" : L.cap;
    ctx.setLineDash(L.dashes); ctx.lineDashOffset = L.dash_offset;
    ctx.beginPath();
    for (let j = 0; j < xy.length / 2; j++) j ? ctx.lineTo(xy[2 * j], xy[2 * j + 1]) : ctx.moveTo(xy[0], xy[1]);
    ctx.stroke(); ctx.setLineDash([]);
  }

  function drawText(L, s) {
    const i = L.sprite[s];
    if (i < 0 || !atlas.complete || !atlas.naturalWidth) return;
    const [x, y, w, h, row] = L.boxes[i];
    ctx.drawImage(atlas, 0, row, w, h, x, y, w, h);
  }

  function draw() {
    const s = stateOf(index);
    let s2 = -1;
    if (phase > 0 && tPos >= 0 && index[tPos] < counts[tPos] - 1) s2 = s + 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(scale, 0, 0, scale, 0, 0);
    for (const L of layers) {
      const vis = at(L.visibleA, 0);
      if (!vis || !vis[s]) continue;
      ctx.save(); clip(L);
      if (L.type === "points") drawPoints(L, s, s2, phase);
      else if (L.type === "quiver") drawQuiver(L, s, s2, phase);
      else if (L.type === "image") drawImage(L, s);
      else if (L.type === "lines") drawLines(L, s);
      else if (L.type === "text") drawText(L, s);
      else if (L.type === "polyline") drawPolyline(L, s);
      else if (L.type === "stairs") drawStairs(L, s);
      else if (L.type === "marks") drawMarks(L, s);
      ctx.restore();
    }
    draws++;
    root.dataset.state = String(s);
    root.dataset.draws = String(draws);
  }

  // ---------------------------------------------------------------- Play
  let last = 0, raf = 0;
  function tick(now) {
    if (!playing) return;
    const dt = last ? now - last : 0; last = now;
    let pos = index[tPos] + phase + dt / spec.interval_ms;
    const end = counts[tPos] - 1;
    if (pos >= end) { pos = end; }
    index[tPos] = Math.floor(pos); phase = pos - index[tPos];
    sync(); draw();
    if (pos >= end) { stop(); return; }
    raf = requestAnimationFrame(tick);
  }
  function start() {
    if (tPos < 0) return;
    if (index[tPos] >= counts[tPos] - 1) { index[tPos] = 0; phase = 0; }
    playing = true; last = 0; playButton.textContent = "❚❚"; playButton.setAttribute("aria-label", words.pause);
    raf = requestAnimationFrame(tick);
  }
  function stop() {
    const was = playing;
    playing = false; cancelAnimationFrame(raf); phase = 0;
    if (playButton) { playButton.textContent = "▶"; playButton.setAttribute("aria-label", words.play); }
    draw();
    if (was) report();
  }

  stage.addEventListener("keydown", (e) => {
    if (tPos < 0) return;
    const keys = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 };
    if (e.key === " " || e.key === "k") { playing ? stop() : start(); }
    else if (e.key in keys) { stop(); set(tPos, index[tPos] + keys[e.key]); report(); }
    else if (e.key === "Home") { stop(); set(tPos, 0); report(); }
    else if (e.key === "End") { stop(); set(tPos, counts[tPos] - 1); report(); }
    else return;
    e.preventDefault(); e.stopPropagation();
  });

  model.on("change:index", () => { // set from Python (explorer.update): show that state
    const next = model.get("index").slice();
    if (next.join(",") === index.join(",")) return; // our own report, echoed
    playing = false; cancelAnimationFrame(raf); phase = 0;
    if (playButton) { playButton.textContent = "▶"; playButton.setAttribute("aria-label", words.play); }
    index = next; reported = next.join(","); sync(); draw();
  });
  const observer = new ResizeObserver(() => resize());
  observer.observe(still);
  still.addEventListener("load", resize);
  // for tests and the benchmark: the page's own view of the explorer
  root.fmClient = { set, start, stop, draw, report, state: () => stateOf(index), index: () => index.slice(), playing: () => playing, setTrails: (on) => { trails = on; draw(); } };
  sync(); resize();
  return () => { stop(); observer.disconnect(); };
}

export default { render };
