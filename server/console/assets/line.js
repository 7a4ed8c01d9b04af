// The live line: draws the throughput chart with uPlot (served from node_modules by the server)
// and swaps in the sections the server renders for each server-sent event. No polling: one
// EventSource per page, fed by the server's shared feed at most once a second.
'use strict';
(function () {
  const dataEl = document.getElementById('line-data');
  const chartEl = document.getElementById('line-chart');
  if (!dataEl || !chartEl || typeof uPlot === 'undefined') return;
  const PALETTE = ['#0b57d0', '#146c2e', '#7b1fa2', '#00838f', '#5d4037', '#283593', '#2e7d32', '#ad1457'];
  let plot = null;
  let stations = [];

  function build(series) {
    stations = Object.keys(series.good).sort();
    const opts = {
      width: Math.max(320, chartEl.clientWidth || 800),
      height: 260,
      scales: { x: { time: true } },
      axes: [{ stroke: '#1b1f24' }, { stroke: '#1b1f24', label: 'units per bucket' }],
      series: [{}].concat(stations.map((s, i) => ({ label: s, stroke: PALETTE[i % PALETTE.length], width: 2 })),
        [{ label: 'quarantined', stroke: '#b3261e', width: 2, dash: [6, 4] }]),
    };
    if (plot) plot.destroy();
    plot = new uPlot(opts, toData(series), chartEl);
  }

  function toData(series) {
    return [series.t].concat(stations.map((s) => series.good[s] || series.t.map(() => 0)), [series.quarantined]);
  }

  function update(series) {
    const names = Object.keys(series.good).sort();
    if (!plot || names.join('\u0000') !== stations.join('\u0000')) build(series);
    else plot.setData(toData(series));
  }

  build(JSON.parse(dataEl.textContent));
  window.addEventListener('resize', () => plot && plot.setSize({ width: Math.max(320, chartEl.clientWidth), height: 260 }));

  const regions = { alerts: 'line-alerts', stations: 'line-stations', orders: 'line-orders', recent: 'line-recent', updated: 'line-updated' };
  const source = new EventSource('/console/line/events');
  source.addEventListener('line', (e) => {
    const msg = JSON.parse(e.data);
    for (const [key, id] of Object.entries(regions)) {
      const el = document.getElementById(id);
      // The server escaped every value it rendered (server/console/html.ts).
      if (el && msg.sections[key] !== undefined && el.innerHTML !== msg.sections[key]) el.innerHTML = msg.sections[key];
    }
    update(msg.series);
    document.body.dataset.lineAt = msg.at;
  });
  source.addEventListener('error', () => {
    const el = document.getElementById('line-updated');
    if (el && source.readyState === EventSource.CONNECTING) el.dataset.state = 'reconnecting';
  });
})();
