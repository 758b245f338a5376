// Steps through a replay document tick by tick, drawing the board at each step.
"use strict";
(() => {
  const doc = JSON.parse(document.getElementById("replay-data").textContent);
  const canvas = document.getElementById("board"), table = document.getElementById("scores");
  const width = doc.rules.width, height = doc.rules.height;
  const steps = doc.ticks.length;
  let step = 0;
  document.getElementById("steps").textContent = String(steps);
  function boardAt(upTo) {
    const cells = new Map(), counts = new Map();
    for (let i = 0; i < upTo; i++) {
      for (const [p, x, y, k] of doc.ticks[i][2]) cells.set(y * width + x, [doc.players[p], doc.kinds[k]]);
    }
    for (const [owner] of cells.values()) counts.set(owner, (counts.get(owner) || 0) + 1);
    return [cells, counts];
  }
  function show() {
    const [cells, counts] = boardAt(step);
    TilemudBoard.draw(canvas, width, height, cells);
    TilemudBoard.scores(table, counts);
    document.getElementById("step").textContent = String(step);
    document.getElementById("tick").textContent = step === 0 ? "start" : String(doc.ticks[step - 1][0]);
    document.getElementById("placed").textContent = String(cells.size);
  }
  const go = (to) => { step = Math.max(0, Math.min(steps, to)); show(); };
  document.getElementById("first").onclick = () => go(0);
  document.getElementById("back").onclick = () => go(step - 1);
  document.getElementById("forward").onclick = () => go(step + 1);
  document.getElementById("last").onclick = () => go(steps);
  show();
})();
