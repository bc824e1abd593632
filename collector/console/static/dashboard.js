// The dashboard's PNG downloads: each chart's SVG (already on the page) drawn onto a canvas and saved.
// Without script the page still has every chart, its table, and the SVG and CSV downloads.
"use strict";

(function () {
  var SCALE = 2; // twice the chart's size, sharp enough for a report

  function savePng(figure, fileName, button) {
    var svg = figure.querySelector("svg");
    if (!svg) return;
    var width = Number(svg.getAttribute("width")), height = Number(svg.getAttribute("height"));
    var text = new XMLSerializer().serializeToString(svg);
    var source = URL.createObjectURL(new Blob([text], { type: "image/svg+xml;charset=utf-8" }));
    var image = new Image();
    button.disabled = true;
    image.onload = function () {
      var canvas = document.createElement("canvas");
      canvas.width = width * SCALE;
      canvas.height = height * SCALE;
      var context = canvas.getContext("2d");
      context.scale(SCALE, SCALE);
      context.drawImage(image, 0, 0, width, height);
      URL.revokeObjectURL(source);
      canvas.toBlob(function (blob) {
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = fileName;
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
        button.disabled = false;
      }, "image/png");
    };
    image.onerror = function () { URL.revokeObjectURL(source); button.disabled = false; };
    image.src = source;
  }

  document.querySelectorAll("button.png[data-chart]").forEach(function (button) {
    var figure = document.querySelector('figure[data-chart="' + button.dataset.chart + '"]');
    if (!figure || !window.HTMLCanvasElement) return;
    button.hidden = false;
    button.addEventListener("click", function () { savePng(figure, button.dataset.file, button); });
  });
})();
