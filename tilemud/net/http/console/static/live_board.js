// The live board: a spectator's stream of the arena's frames as Server-Sent Events.
"use strict";
(() => {
  const canvas = document.getElementById("board");
  const tickLabel = document.getElementById("tick"), placedLabel = document.getElementById("placed");
  const state = document.getElementById("state"), table = document.getElementById("scores");
  let width = 0, height = 0, cells = new Map(), scores = new Map();
  function redraw(tick) {
    TilemudBoard.draw(canvas, width, height, cells);
    TilemudBoard.scores(table, scores);
    tickLabel.textContent = String(tick);
    placedLabel.textContent = String(cells.size);
  }
  const events = new EventSource(canvas.dataset.events);
  events.onopen = () => { state.textContent = "open"; };
  events.onerror = () => { state.textContent = "reconnecting"; };
  events.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    if (frame.type === "snapshot") {
      width = frame.board.width; height = frame.board.height;
      cells = TilemudBoard.decode(frame.board);
      scores = new Map(frame.scores);
    } else if (frame.type === "tick") {
      for (const [x, y, owner, kind] of frame.placed) cells.set(y * width + x, [owner, kind]);
      for (const [player, score] of frame.scores) scores.set(player, score);
    } else if (frame.type === "battle_ended" || frame.type === "round_ended") {
      for (const [player, score] of frame.scores) scores.set(player, score);
      state.textContent = frame.type.replace("_", " ");
    } else {
      return;
    }
    if (width > 0) redraw(frame.tick);
  };
})();
