// Charts over time for the dashboard, drawn with uPlot (static/vendor/uPlot.iife.min.js).
// Polls GET /api/series (through dashboard.js's getJSON, so the API token is sent) and redraws:
// time to first token, generation tokens/s (the server's eval_count / eval_duration), requests
// and errors per model, and the memory of loaded models (GPU and RAM). It also shows the
// requests waiting for a model to load ("loading MODEL into memory..."), from GET /api/status.
"use strict";

(() => {
  const CHART_POLL_MS = 2000;
  const COLORS = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#0891b2", "#db2777", "#65a30d"];
  const charts = {};

  function color(index) {
    return COLORS[index % COLORS.length];
  }

  function lineSeries(label, stroke, dash) {
    return { label, stroke, width: 2, dash, spanGaps: true, points: { show: true, size: 5 } };
  }

  // [{label, stroke, dash, values}] -> uPlot series and data rows
  function draw(id, title, unit, times, lines) {
    const holder = document.getElementById(id);
    if (!holder) return;
    const key = lines.map((l) => l.label).join("|");
    const data = [times, ...lines.map((l) => l.values)];
    const width = Math.max(280, holder.clientWidth - 8);
    const existing = charts[id];
    if (existing && existing.key === key) {
      existing.plot.setData(data);
      if (Math.abs(existing.plot.width - width) > 4) existing.plot.setSize({ width, height: 200 });
      return;
    }
    if (existing) existing.plot.destroy();
    holder.replaceChildren();
    const options = {
      title,
      width,
      height: 200,
      scales: { x: { time: true } },
      series: [{}, ...lines.map((l) => lineSeries(l.label, l.stroke, l.dash))],
      axes: [{}, { label: unit, size: 60 }],
      legend: { show: true },
    };
    charts[id] = { key, plot: new uPlot(options, data, holder) };
  }

  function requestCharts(requests) {
    const models = Object.keys(requests.models);
    const times = requests.times;
    const per = (field) =>
      models.map((m, i) => ({ label: m, stroke: color(i), values: requests.models[m][field] }));
    draw("chart-ttft", "Time to first token", "ms", times, per("ttftMs"));
    draw("chart-rate", "Generation (server counters)", "tokens/s", times, per("tokensPerSecond"));
    const counts = [];
    models.forEach((m, i) => {
      counts.push({ label: m, stroke: color(i), values: requests.models[m].requests });
      counts.push({
        label: m + " errors", stroke: color(i), dash: [2, 3], values: requests.models[m].errors,
      });
    });
    draw("chart-requests", "Requests and errors per " + requests.bucketSeconds + " s", "count",
      times, counts);
  }

  function memoryChart(memory) {
    const lines = [];
    Object.keys(memory.models).forEach((m, i) => {
      const gib = (values) => values.map((v) => Math.round((v / 2 ** 30) * 100) / 100);
      lines.push({ label: m + " GPU", stroke: color(i), values: gib(memory.models[m].vram) });
      lines.push({
        label: m + " RAM", stroke: color(i), dash: [4, 3], values: gib(memory.models[m].ram),
      });
    });
    draw("chart-memory", "Memory of loaded models", "GiB", memory.times, lines);
  }

  function showWaiting(waiting) {
    const box = document.getElementById("waiting");
    if (!box) return;
    box.replaceChildren(
      ...waiting.map((w) => {
        const item = document.createElement("li");
        const what = w.loading ? `loading ${w.model} into memory...` : `waiting for ${w.model}...`;
        item.textContent = `${what} ${Math.round(w.seconds)} s`;
        return item;
      }),
    );
  }

  async function refreshCharts() {
    try {
      const [series, status] = await Promise.all([getJSON("/api/series"), getJSON("/api/status")]);
      requestCharts(series.requests);
      memoryChart(series.memory);
      showWaiting(status.waiting || []);
    } catch (error) {
      // dashboard.js reports connection and token problems; charts just wait for the next poll
    }
  }

  refreshCharts();
  setInterval(refreshCharts, CHART_POLL_MS);
})();
