// The exports pages (collector/console/views/exports.py). Without this script both work as plain HTML: the
// form posts and the file downloads, a job's page refreshes itself. With it, a direct download shows how much
// has arrived, and a background job's page follows the job without reloading.
"use strict";

(function () {
  function show(status, text, bad) {
    status.textContent = text;
    status.classList.remove("hidden");
    status.classList.toggle("bad", Boolean(bad));
  }

  function sizeOf(bytes) {
    return bytes < 1048576 ? (bytes / 1024).toFixed(0) + " KB" : (bytes / 1048576).toFixed(1) + " MB";
  }

  function fileName(response) {
    var match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    return match ? match[1] : "export";
  }

  // A refusal comes back as the console's error page: show its message here.
  function refusal(response, status) {
    return response.text().then(function (html) {
      var page = new DOMParser().parseFromString(html, "text/html");
      var message = page.querySelector("main .error");
      show(status, message ? message.textContent : status.dataset.failed, true);
    });
  }

  function download(form) {
    var status = document.getElementById("export-status");
    var bar = document.getElementById("export-progress");
    var button = form.querySelector("button[type=submit]");
    var received = 0;
    button.disabled = true;
    bar.classList.remove("hidden");
    show(status, status.dataset.building.replace("{size}", sizeOf(0)));
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("text/html") === 0) {
          return refusal(response, status);
        }
        var reader = response.body.getReader();
        var chunks = [];
        var read = function () {
          return reader.read().then(function (step) {
            if (step.done) {
              return chunks;
            }
            chunks.push(step.value);
            received += step.value.length;
            show(status, status.dataset.building.replace("{size}", sizeOf(received)));
            return read();
          });
        };
        return read().then(function () {
          var name = fileName(response);
          var link = document.createElement("a");
          link.href = URL.createObjectURL(new Blob(chunks, { type: type }));
          link.download = name;
          document.body.appendChild(link);
          link.click();
          link.remove();
          setTimeout(function () { URL.revokeObjectURL(link.href); }, 60000);
          show(status, status.dataset.done.replace("{name}", name));
        });
      })
      .catch(function () { show(status, status.dataset.failed, true); })
      .then(function () {
        button.disabled = false;
        bar.classList.add("hidden");
      });
  }

  // CTDC is the whole register: the form, labels and dates do not apply to it, nor labels to GeoJSON.
  function fitChoices(form) {
    var fmt = (form.querySelector("input[name=format]:checked") || {}).value;
    form.querySelector("select[name=form]").disabled = fmt === "ctdc";
    form.querySelector("select[name=lang]").disabled = fmt === "ctdc" || fmt === "geojson";
    form.querySelectorAll("input[type=date]").forEach(function (input) { input.disabled = fmt === "ctdc"; });
  }

  var form = document.getElementById("export-form");
  if (form) {
    form.addEventListener("change", function () { fitChoices(form); });
    fitChoices(form);
    if (form.dataset.background !== "true" && window.fetch && window.ReadableStream) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        download(form);
      });
    }
  }

  // A background job's page: fetch it again until the job ends, then start the download once.
  var job = document.getElementById("export-job");
  function follow() {
    var state = job.dataset.state;
    if (state === "finished") {
      var file = document.getElementById("export-file");
      if (file && !job.dataset.started) {
        job.dataset.started = "true";
        file.click();
      }
      return;
    }
    if (state !== "queued" && state !== "started") {
      return;
    }
    setTimeout(function () {
      fetch(window.location.href, { credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html");
          var fresh = page.getElementById("export-job");
          if (fresh) {
            job.replaceChildren.apply(job, Array.prototype.slice.call(fresh.childNodes));
            job.dataset.state = fresh.dataset.state;
            document.querySelector("h1").textContent = page.querySelector("h1").textContent;
          }
          follow();
        })
        .catch(function () { follow(); });
    }, 1500);
  }
  if (job) {
    follow();
  }
})();
