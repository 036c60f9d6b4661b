// testmatrix dashboard: the test viewer (tests.html). Routes by the address's
// hash: #test=ID, #file=PATH, #q=TEXT (the file list). Data comes from scripts
// under data/ that call tmLoad; they load on demand, so opening a test reads one
// shard whatever the number of tests. Text goes into the page only through
// textContent: nothing from the data is ever parsed as HTML.
"use strict";
(function () {
  var loaded = {};
  var pending = {};
  var state = { manifest: null, files: null, shards: {} };
  var LIST_LIMIT = 300;

  window.tmLoad = function (kind, key, payload) {
    if (kind === "manifest") state.manifest = payload;
    else if (kind === "files") state.files = payload;
    else if (kind === "shard") state.shards[key] = payload;
  };

  function load(src) {
    if (loaded[src]) return Promise.resolve();
    if (pending[src]) return pending[src];
    pending[src] = new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src;
      s.onload = function () { loaded[src] = true; resolve(); };
      s.onerror = function () { reject(new Error("cannot load " + src)); };
      document.head.appendChild(s);
    });
    return pending[src];
  }

  // FNV-1a, 32 bit, over UTF-8 bytes: viewer.py's fnv1a
  function fnv1a(text) {
    var bytes = new TextEncoder().encode(text);
    var h = 0x811c9dc5;
    for (var i = 0; i < bytes.length; i++) {
      h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
    }
    return h >>> 0;
  }

  function fileOf(test) {
    var at = test.indexOf("::");
    return at < 0 ? test : test.slice(0, at);
  }

  function shardOf(file) {
    return fnv1a(file) % state.manifest.shards;
  }

  function loadShard(n) {
    return load("data/shard-" + n + ".js").then(function () { return state.shards[n]; });
  }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function a(href, text, cls) {
    var node = el("a", text, cls);
    node.href = href;
    return node;
  }

  function outcome(code) {
    if (code === state.manifest.missing) return ["absent", "absent"];
    return state.manifest.outcomes[code] || ["unknown", "unknown"];
  }

  function strip(codes) {
    var box = el("span", null, "strip");
    var builds = state.manifest.builds;
    for (var i = 0; i < codes.length; i++) {
      var o = outcome(codes[i]);
      var cell = el("span", null, "o o-" + o[0]);
      cell.title = "build " + builds[i].id + ": " + o[1];
      cell.setAttribute("data-build", builds[i].id);
      cell.setAttribute("data-outcome", o[0]);
      box.appendChild(cell);
    }
    return box;
  }

  function done(view) {
    var main = document.getElementById("view");
    main.replaceChildren(view);
    document.body.setAttribute("data-ready", location.hash || "#");
  }

  function entryLink(location) {
    var entries = state.manifest.entries;
    for (var i = 0; i < entries.length; i++) {
      if (entries[i][0] === location) return a("entry-" + i + ".html", location);
    }
    return el("code", location);
  }

  function showTest(id) {
    var file = fileOf(id);
    return loadShard(shardOf(file)).then(function (shard) {
      var view = el("section", null, "test-view");
      view.appendChild(el("h2", id, "test-id")).id = "test-title";
      var back = el("p", "in ");
      back.appendChild(a("#file=" + encodeURIComponent(file), file));
      view.appendChild(back);
      var rows = shard[id];
      if (!rows) {
        view.appendChild(el("p", "No result of this test in these builds.", "empty"));
        return done(view);
      }
      var table = el("table", null, "strips");
      table.id = "test-strips";
      var head = table.createTHead().insertRow();
      ["target", "suite", "builds (oldest first)", "latest"].forEach(function (h) {
        head.appendChild(el("th", h));
      });
      var body = table.createTBody();
      var details = el("ul", null, "details");
      Object.keys(rows).forEach(function (target) {
        var row = rows[target];
        var tr = body.insertRow();
        tr.setAttribute("data-target", target);
        tr.appendChild(el("th", target));
        var suite = tr.insertCell();
        var page = state.manifest.suites[row[1]];
        suite.appendChild(page ? a(page, row[1]) : el("span", row[1]));
        tr.insertCell().appendChild(strip(row[0]));
        tr.insertCell().textContent = outcome(row[0][row[0].length - 1])[1];
        row[2].forEach(function (d) {
          var li = el("li", target + ", build " + state.manifest.builds[d[0]].id + ": ");
          if (d[1]) li.appendChild(entryLink(d[1]));
          if (d[2]) li.appendChild(el("span", (d[1] ? " " : "") + d[2], "message"));
          details.appendChild(li);
        });
      });
      view.appendChild(table);
      if (details.childNodes.length) {
        view.appendChild(el("h3", "Entries and messages"));
        view.appendChild(details);
      }
      done(view);
    });
  }

  function showFile(file) {
    return loadShard(shardOf(file)).then(function (shard) {
      var view = el("section", null, "file-view");
      view.appendChild(el("h2", file)).id = "file-title";
      var ids = Object.keys(shard).filter(function (t) { return fileOf(t) === file; });
      var targets = state.manifest.targets;
      var table = el("table", null, "strips");
      var head = table.createTHead().insertRow();
      head.appendChild(el("th", "test"));
      targets.forEach(function (t) { head.appendChild(el("th", t)); });
      var body = table.createTBody();
      ids.forEach(function (id) {
        var tr = body.insertRow();
        tr.insertCell().appendChild(a("#test=" + encodeURIComponent(id), id.slice(file.length)));
        targets.forEach(function (t) {
          var cell = tr.insertCell();
          if (shard[id][t]) cell.appendChild(strip(shard[id][t][0]));
        });
      });
      view.appendChild(ids.length ? table : el("p", "No test of this file.", "empty"));
      done(view);
    });
  }

  function showFiles(query) {
    return load("data/files.js").then(function () {
      var view = el("section", null, "files-view");
      var input = el("input");
      input.type = "search";
      input.id = "search";
      input.placeholder = "filter test files";
      input.value = query;
      input.addEventListener("change", function () {
        location.hash = "q=" + encodeURIComponent(input.value);
      });
      view.appendChild(input);
      var needle = query.toLowerCase();
      var found = state.files.filter(function (f) {
        return f[0].toLowerCase().indexOf(needle) >= 0;
      });
      var total = state.files.reduce(function (n, f) { return n + f[2]; }, 0);
      view.appendChild(el("p", found.length + " of " + state.files.length +
        " test files (" + total + " tests in all)", "found"));
      var list = el("ul", null, "files");
      list.id = "files";
      found.slice(0, LIST_LIMIT).forEach(function (f) {
        var li = el("li");
        li.appendChild(a("#file=" + encodeURIComponent(f[0]), f[0]));
        li.appendChild(el("span", " " + f[2] + " tests, " + f[3] + " not passing",
          f[3] ? "count bad" : "count"));
        list.appendChild(li);
      });
      view.appendChild(list);
      if (found.length > LIST_LIMIT) {
        view.appendChild(el("p", "and " + (found.length - LIST_LIMIT) +
          " more: narrow the filter", "more"));
      }
      done(view);
    });
  }

  function route() {
    var hash = location.hash.slice(1);
    var at = hash.indexOf("=");
    var key = at < 0 ? hash : hash.slice(0, at);
    var value = "";
    try {
      value = at < 0 ? "" : decodeURIComponent(hash.slice(at + 1));
    } catch (e) {
      key = "";
    }
    var shown;
    if (key === "test" && value) shown = showTest(value);
    else if (key === "file" && value) shown = showFile(value);
    else shown = showFiles(key === "q" ? value : "");
    shown.catch(function (err) {
      done(el("p", String(err.message || err), "error"));
    });
  }

  window.addEventListener("hashchange", route);
  load("data/manifest.js").then(route, function (err) {
    done(el("p", String(err.message), "error"));
  });
})();
