// Planner dashboard: the weekly bars drawn with Chart.js (vendor/chart.umd.min.js, served by us).
// The numbers come from the <script type="application/json" id="weekly-data"> block the page renders
// (the CSP forbids inline script). Without JavaScript, or if Chart.js fails, the SVG fallback stays.
(function () {
  "use strict";

  function hatch(color) {
    // A diagonal-stripe pattern for weeks still running: lighter and striped, never read as a collapse.
    var tile = document.createElement("canvas");
    tile.width = tile.height = 8;
    var ctx = tile.getContext("2d");
    ctx.fillStyle = "#c7d7e8";
    ctx.fillRect(0, 0, 8, 8);
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(0, 8); ctx.lineTo(8, 0);
    ctx.stroke();
    return ctx.createPattern(tile, "repeat");
  }

  function draw() {
    var source = document.getElementById("weekly-data");
    var canvas = document.getElementById("weekly-chart");
    if (!source || !canvas || typeof window.Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var full = "#1f4e79";
    var labels = data.labels.map(function (label, i) {
      return data.partial[i] ? [label, "(partial)"] : label;
    });
    var colours = data.partial.map(function (partial) { return partial ? hatch(full) : full; });
    canvas.parentElement.hidden = false;
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: labels,
        datasets: [{
          label: "Questions (complete week)",
          data: data.questions,
          backgroundColor: colours,
          borderColor: full,
          borderWidth: data.partial.map(function (p) { return p ? 2 : 0; }),
          borderDash: [4, 2]
        }]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {
          x: { title: { display: true, text: "Week starting (Monday)", font: { size: 14 } },
               ticks: { font: { size: 13 }, color: "#3d4451" } },
          y: { beginAtZero: true, title: { display: true, text: "Questions", font: { size: 14 } },
               ticks: { font: { size: 13 }, color: "#3d4451", precision: 0 } }
        },
        plugins: {
          legend: {
            labels: {
              font: { size: 13 },
              // Two entries: a complete week and the partial one, whatever the dataset holds.
              generateLabels: function () {
                var items = [{ text: "Questions in a complete week", fillStyle: full, strokeStyle: full,
                               lineWidth: 0, datasetIndex: 0 }];
                if (data.partial.indexOf(true) >= 0) {
                  items.push({ text: "Week not over yet (partial)", fillStyle: hatch(full), strokeStyle: full,
                               lineWidth: 2, datasetIndex: 0 });
                }
                if (data.suppressed.indexOf(true) >= 0) {
                  items.push({ text: "No bar: fewer than " + data.k + " teachers (hidden)", fillStyle: "#ffffff",
                               strokeStyle: "#5b6472", lineWidth: 1, datasetIndex: 0 });
                }
                return items;
              }
            },
            onClick: function () {}  // one series: hiding it would leave an empty chart
          },
          tooltip: {
            callbacks: {
              title: function (items) { return "Week of " + data.labels[items[0].dataIndex]; },
              label: function (item) {
                var i = item.dataIndex;
                if (data.suppressed[i]) return "hidden: fewer than " + data.k + " teachers";
                var text = data.questions[i] + " questions from " + data.teachers[i] + " teachers";
                return data.partial[i] ? text + " (partial week, still running)" : text;
              }
            }
          }
        }
      }
    });
    var fallback = document.querySelector("#weekly-volume .pl-svg-fallback");
    if (fallback) fallback.hidden = true;
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
