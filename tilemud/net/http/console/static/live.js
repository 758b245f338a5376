// Charts of the node's figures: a sample a second from /console/live/figures.
"use strict";
(() => {
  const charts = [...document.querySelectorAll("canvas[data-figure]")];
  function plot(canvas, values) {
    const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    const seen = values.filter((v) => v !== null);
    const top = Math.max(1, ...seen);
    ctx.fillStyle = "#5d6877"; ctx.font = "11px sans-serif";
    ctx.fillText(`max ${top}  now ${seen.length ? seen[seen.length - 1] : "-"}`, 4, 12);
    ctx.strokeStyle = "#2f6fbf"; ctx.beginPath();
    values.forEach((v, i) => {
      if (v === null) return;
      const x = (i / Math.max(1, values.length - 1)) * (w - 8) + 4, y = h - 4 - (v / top) * (h - 22);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
    canvas.dataset.samples = String(values.length);
  }
  async function refresh() {
    try {
      const answer = await fetch("/console/live/figures", { credentials: "same-origin" });
      if (answer.ok) {
        const { figures } = await answer.json();
        for (const canvas of charts) plot(canvas, figures.map((f) => f[canvas.dataset.figure]));
      }
    } finally {
      setTimeout(refresh, 1000);
    }
  }
  refresh();
})();
