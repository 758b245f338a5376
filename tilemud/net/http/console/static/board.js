// Draws an arena board on a canvas: one colour per owner, the kind's initial in the cell.
"use strict";
const TilemudBoard = (() => {
  const colours = new Map();
  function colour(owner) {
    if (!colours.has(owner)) {
      const hue = (colours.size * 137.508) % 360;
      colours.set(owner, `hsl(${hue}, 62%, 55%)`);
    }
    return colours.get(owner);
  }
  // Cells from a snapshot's run-length encoded board (docs/protocol.md, "The board").
  function decode(board) {
    const cells = new Map();
    let n = 0;
    for (let i = 0; i < board.runs.length; i += 2) {
      const length = board.runs[i], code = board.runs[i + 1];
      if (code !== 0) {
        const [owner, kind] = board.palette[code - 1];
        for (let k = 0; k < length; k++) cells.set(n + k, [owner, kind]);
      }
      n += length;
    }
    return cells;
  }
  function draw(canvas, width, height, cells) {
    const size = Math.max(2, Math.min(14, Math.floor(560 / Math.max(width, height))));
    if (canvas.width !== width * size) { canvas.width = width * size; canvas.height = height * size; }
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = "#e3e7ec";
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) ctx.strokeRect(x * size + .5, y * size + .5, size - 1, size - 1);
    ctx.font = `${Math.floor(size * .6)}px sans-serif`;
    ctx.textAlign = "center"; ctx.textBaseline = "middle";
    for (const [n, [owner, kind]] of cells) {
      const x = n % width, y = Math.floor(n / width);
      ctx.fillStyle = colour(owner);
      ctx.fillRect(x * size + 1, y * size + 1, size - 2, size - 2);
      if (size >= 12) { ctx.fillStyle = "#fff"; ctx.fillText(kind[0], x * size + size / 2, y * size + size / 2); }
    }
    canvas.dataset.tiles = String(cells.size);
  }
  function scores(table, pairs) {
    table.replaceChildren();
    const head = table.insertRow();
    for (const text of ["Player", "Score"]) { const th = document.createElement("th"); th.textContent = text; head.appendChild(th); }
    for (const [player, score] of [...pairs].sort((a, b) => b[1] - a[1])) {
      const row = table.insertRow();
      row.insertCell().textContent = player;
      row.insertCell().textContent = String(score);
      row.cells[0].style.borderLeft = `6px solid ${colour(player)}`;
    }
  }
  return { decode, draw, scores };
})();
