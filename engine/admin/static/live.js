// Live counts on the diagram page: each server-sent event carries the counts; the diagram is re-rendered.
(function () {
  const table = document.getElementById("counts");
  if (!table || !window.EventSource) return;
  const status = document.getElementById("live-status");
  const source = new EventSource(table.dataset.events);
  source.addEventListener("counts", (event) => {
    const snapshot = JSON.parse(event.data);
    for (const row of table.querySelectorAll("tbody tr")) {
      const state = row.dataset.state;
      row.querySelector(".count").textContent = snapshot.counts[state] ?? 0;
      row.querySelector(".stuck").textContent = state in snapshot.stuck ? snapshot.stuck[state] : "";
    }
    document.getElementById("stuck-total").textContent = snapshot.stuck_total;
    document.getElementById("diagram").src = table.dataset.svg + "?v=" + snapshot.version;
    status.textContent = "live · updated " + new Date().toLocaleTimeString();
    status.dataset.version = snapshot.version;
  });
  source.onerror = () => { status.textContent = "reconnecting…"; };
})();
