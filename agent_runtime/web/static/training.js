// The training view: study reports (DQN vs DDQ, curriculum) with 95 % bands over seeds, and single runs (learning
// curves, actions by persona, Q-values). uPlot charts: drag to zoom, double-click to reset, hover for values.
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"];

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function chart(container, title, xLabel, yLabel, x, series, bands = []) {
  const box = element("figure", "chart");
  box.append(element("figcaption", "", title));
  container.append(box);
  const width = Math.max(320, Math.min(560, container.clientWidth - 24));
  const options = {
    width,
    height: 240,
    scales: { x: { time: false } },
    axes: [{ label: xLabel }, { label: yLabel }],
    series: [{ label: xLabel }, ...series.map((s, i) => ({ label: s.label, stroke: s.color ?? COLORS[i % COLORS.length], width: s.width ?? 2, fill: s.fill }))],
    bands,
  };
  new window.uPlot(options, [x, ...series.map((s) => s.values)], box);
  // the band edges are drawn but not listed: the legend names the lines
  const rows = box.querySelectorAll(".u-legend .u-series");
  series.forEach((s, i) => {
    if (s.bandEdge && rows[i + 1]) rows[i + 1].hidden = true;
  });
  return box;
}

function studyCharts(container, report) {
  const section = element("section", "study");
  section.append(element("h3", "", report.title || report.name));
  container.append(section);
  const cells = Object.values(report.cells || {}).filter((cell) => cell.curve);
  if (!cells.length) return;
  const x = cells[0].curve.real_episodes;
  const series = [];
  const bands = [];
  cells.forEach((cell, i) => {
    const color = COLORS[i % COLORS.length];
    const base = series.length + 1;
    series.push({ label: cell.cell, values: cell.curve.mean, color });
    series.push({ label: `${cell.cell} high`, values: cell.curve.high, color: `${color}40`, width: 1, bandEdge: true });
    series.push({ label: `${cell.cell} low`, values: cell.curve.low, color: `${color}40`, width: 1, bandEdge: true });
    bands.push({ series: [base + 1, base + 2], fill: `${color}18` });
  });
  chart(section, "Greedy success on validation calls (mean and 95 % band over seeds)", "real episodes", "success", x, series, bands);
  const table = element("table", "summary");
  const head = table.insertRow();
  ["cell", "final success", "episodes to 60 %", "seeds"].forEach((title) => head.append(element("th", "", title)));
  for (const cell of cells) {
    const row = table.insertRow();
    const success = cell.final_success_rate;
    const target = cell.episodes_to_target;
    row.insertCell().textContent = cell.cell;
    row.insertCell().textContent = `${(100 * success.mean).toFixed(1)} % [${(100 * success.low).toFixed(1)}, ${(100 * success.high).toFixed(1)}]`;
    row.insertCell().textContent = target && target.mean !== null ? target.mean.toFixed(0) : "-";
    row.insertCell().textContent = String(cell.seeds);
  }
  section.append(table);
}

function heatmap(container, title, byPersona) {
  const personas = Object.keys(byPersona);
  if (!personas.length) return;
  const actions = [...new Set(personas.flatMap((p) => Object.keys(byPersona[p])))].sort();
  const figure = element("figure", "heatmap");
  figure.append(element("figcaption", "", title));
  const table = element("table");
  const head = table.insertRow();
  head.append(element("th", "", "persona"));
  actions.forEach((action) => head.append(element("th", "", action.replaceAll("_", " "))));
  for (const persona of personas) {
    const row = table.insertRow();
    row.append(element("th", "", persona));
    const counts = byPersona[persona];
    const total = Object.values(counts).reduce((a, b) => a + b, 0) || 1;
    for (const action of actions) {
      const share = (counts[action] || 0) / total;
      const cell = row.insertCell();
      cell.textContent = `${(100 * share).toFixed(0)}`;
      cell.title = `${persona} · ${action}: ${counts[action] || 0} of ${total} actions`;
      cell.style.setProperty("--share", String(share));
    }
  }
  figure.append(table);
  container.append(figure);
}

function runCharts(container, run) {
  const section = element("section", "run");
  section.append(element("h3", "", `${run.name} · ${run.algo ?? "?"} on ${run.env ?? "?"} · seed ${run.seed ?? "?"}`));
  container.append(section);
  if (run.training.length) {
    chart(section, `Training episodes (moving average of 50)`, "episode", "success / return",
      run.training.map((p) => p.episode),
      [
        { label: "success", values: run.training.map((p) => p.success) },
        { label: "return", values: run.training.map((p) => p.return) },
      ]);
  }
  if (run.eval.length) {
    chart(section, "Greedy evaluations", "real episodes", "success / return",
      run.eval.map((p) => p.real_episodes),
      [
        { label: "success", values: run.eval.map((p) => p.success) },
        { label: "return", values: run.eval.map((p) => p.return) },
      ]);
  }
  if (run.q.length) {
    chart(section, "Max-Q of each episode's decisions: mean, ± 1 std (band), min and max", "real steps", "Q",
      run.q.map((p) => p.real_steps),
      [
        { label: "mean", values: run.q.map((p) => p.mean) },
        { label: "mean + std", values: run.q.map((p) => p.mean + p.std), color: "#1f77b440", width: 1, bandEdge: true },
        { label: "mean - std", values: run.q.map((p) => p.mean - p.std), color: "#1f77b440", width: 1, bandEdge: true },
        { label: "min", values: run.q.map((p) => p.min), color: "#7f7f7f", width: 1 },
        { label: "max", values: run.q.map((p) => p.max), color: "#d62728", width: 1 },
      ],
      [{ series: [2, 3], fill: "#1f77b418" }]);
  }
  heatmap(section, "Actions chosen per persona (% of each persona's actions)", run.actions_by_persona);
}

export function renderTraining(container, data) {
  container.replaceChildren();
  if (!data.reports.length && !data.runs.length) {
    container.append(element("p", "muted", "No training runs found: train one with python -m training.train --out runs/NAME"));
    return;
  }
  if (data.reports.length) container.append(element("h2", "", "Studies"));
  data.reports.forEach((report) => studyCharts(container, report));
  if (data.runs.length) container.append(element("h2", "", "Runs"));
  data.runs.forEach((run) => runCharts(container, run));
}
