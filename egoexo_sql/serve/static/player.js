// The take page's player (egoexo-sql serve): the video and the annotation lanes in sync
// both ways, the camera switcher that keeps the time, the 2D pose drawn over the picture,
// and the keyboard. Its data is the page's <script id="take-data"> (app.player_data).
(() => {
  "use strict";
  const data = JSON.parse(document.getElementById("take-data").textContent);
  const video = document.getElementById("player");
  if (!video) return;
  const canvas = document.getElementById("pose-canvas");
  const poseToggle = document.getElementById("pose-toggle");
  const poseStatus = document.getElementById("pose-status");
  const nowBox = document.getElementById("now");
  const clock = document.getElementById("clock");
  const frameBox = document.getElementById("frame");
  const svg = document.querySelector("svg.timeline");
  const head = svg ? svg.querySelector(".playhead") : null;
  const rows = new Map();
  document.querySelectorAll("#events tr[data-ev]").forEach((tr) => rows.set(+tr.dataset.ev, tr));
  const FPS = 30;
  const HOLD_FRAMES = 3; // pose of an annotated frame stays drawn this many frames around it
  const ORDER = ["keystep", "keystep_benchmark", "atomic", "narration", "commentary", "demonstration"];
  const BODY = [
    ["nose", "left-eye"], ["nose", "right-eye"], ["left-eye", "left-ear"], ["right-eye", "right-ear"],
    ["left-shoulder", "right-shoulder"], ["left-shoulder", "left-elbow"], ["left-elbow", "left-wrist"],
    ["right-shoulder", "right-elbow"], ["right-elbow", "right-wrist"], ["left-shoulder", "left-hip"],
    ["right-shoulder", "right-hip"], ["left-hip", "right-hip"], ["left-hip", "left-knee"],
    ["left-knee", "left-ankle"], ["right-hip", "right-knee"], ["right-knee", "right-ankle"],
  ];
  const HAND = [];
  for (const side of ["left", "right"]) {
    for (const f of ["thumb", "index", "middle", "ring", "pinky"]) {
      let prev = `${side}_wrist`;
      for (let k = 1; k <= 4; k++) {
        HAND.push([prev, `${side}_${f}_${k}`]);
        prev = `${side}_${f}_${k}`;
      }
    }
  }
  const COLORS = { body: "#ffd23f", hand: "#3fe0ff" };

  // ---------------------------------------------------------------- time -> what is on
  let active = new Set();
  function update() {
    const t = video.currentTime;
    clock.textContent = t.toFixed(2);
    frameBox.textContent = String(Math.floor(t * FPS + 1e-6));
    if (svg && head) {
      const x0 = +svg.dataset.x0, x1 = +svg.dataset.x1, end = +svg.dataset.end || 1;
      const x = x0 + ((x1 - x0) * Math.max(0, Math.min(t, end))) / end;
      head.setAttribute("x1", x.toFixed(1));
      head.setAttribute("x2", x.toFixed(1));
      head.setAttribute("visibility", "visible");
    }
    const now = new Set();
    const latest = {};
    data.events.forEach(([source, start, end, until, text], i) => {
      if (start === null || until === null) return;
      if (start <= t && (t < until || (until === start && t === start))) {
        now.add(i);
        if (!latest[source] || latest[source][0] <= start) latest[source] = [start, text, i];
      }
    });
    for (const i of active) if (!now.has(i) && rows.get(i)) rows.get(i).classList.remove("now");
    for (const i of now) if (rows.get(i)) rows.get(i).classList.add("now");
    active = now;
    const sources = Object.keys(latest).sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));
    nowBox.replaceChildren(
      ...sources.map((s) => {
        const div = document.createElement("div");
        div.className = "now-row";
        div.dataset.source = s;
        div.dataset.ev = String(latest[s][2]);
        const b = document.createElement("b");
        b.textContent = s;
        div.append(b, " ", latest[s][1] || "");
        return div;
      })
    );
    drawPose();
  }
  let raf = 0;
  function loop() {
    update();
    raf = video.paused || video.ended ? 0 : requestAnimationFrame(loop);
  }
  video.addEventListener("play", () => { if (!raf) raf = requestAnimationFrame(loop); });
  for (const ev of ["timeupdate", "seeked", "loadeddata", "pause"]) video.addEventListener(ev, update);
  window.addEventListener("resize", update);

  function seek(t) {
    video.currentTime = Math.max(0, Math.min(t, isFinite(video.duration) ? video.duration : t));
    update();
  }

  // ---------------------------------------------------------------- timeline -> video
  if (svg) {
    svg.addEventListener("click", (e) => {
      const a = e.target.closest("a.mark");
      if (!a) return;
      e.preventDefault();
      seek(+a.dataset.start);
      const tr = rows.get(+a.dataset.ev);
      document.querySelectorAll("#events tr.picked").forEach((r) => r.classList.remove("picked"));
      if (tr) tr.classList.add("picked");
      history.replaceState(null, "", `#ev-${a.dataset.ev}`);
    });
  }
  document.querySelectorAll("#events tr[data-ev]").forEach((tr) => {
    tr.addEventListener("dblclick", () => {
      const ev = data.events[+tr.dataset.ev];
      if (ev && ev[1] !== null) seek(ev[1]);
    });
  });

  // ---------------------------------------------------------------- cameras
  document.querySelectorAll("#cams button.cam").forEach((b) => {
    b.addEventListener("click", () => {
      if (b.classList.contains("on")) return;
      const t = video.currentTime, playing = !video.paused;
      document.querySelectorAll("#cams button.cam").forEach((x) => x.classList.toggle("on", x === b));
      video.addEventListener("loadedmetadata", () => {
        video.currentTime = t;
        if (playing) video.play();
        update();
      }, { once: true });
      video.dataset.cam = b.dataset.cam;
      video.src = b.dataset.src;
      loadPose(b.dataset.cam);
    });
  });

  // ---------------------------------------------------------------- pose overlay
  let pose = null;
  const poseCache = new Map();
  function loadPose(cam) {
    pose = null;
    drawPose();
    if (!poseCache.has(cam)) {
      poseCache.set(cam, fetch(`/take/${encodeURIComponent(data.take_uid)}/pose/${encodeURIComponent(cam)}.json`)
        .then((r) => (r.ok ? r.json() : null)).catch(() => null));
    }
    poseCache.get(cam).then((p) => {
      if (video.dataset.cam !== cam) return;
      pose = p;
      const n = p ? Object.values(p.kinds).reduce((a, k) => a + Object.keys(k.frames).length, 0) : 0;
      poseStatus.textContent = n ? `${cam}: ${n} annotated frames (${Object.entries(p.kinds)
        .map(([k, v]) => `${k} ${v.source}`).join(", ")})` : `${cam}: no 2D pose`;
      canvas.dataset.loaded = cam;
      drawPose();
    });
  }
  function frameOf(kind, f) {
    if (kind.frames[f]) return [f, kind.frames[f]];
    for (let d = 1; d <= HOLD_FRAMES; d++) {
      if (kind.frames[f - d]) return [f - d, kind.frames[f - d]];
      if (kind.frames[f + d]) return [f + d, kind.frames[f + d]];
    }
    return null;
  }
  function drawPose() {
    const w = video.clientWidth, h = video.clientHeight, dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
      canvas.style.width = `${w}px`;
      canvas.style.height = `${h}px`;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    let drawn = 0;
    const frames = [];
    if (pose && poseToggle.checked && video.videoWidth) {
      // the picture inside the element (letterboxed), and the annotation image on it
      const s = Math.min(w / video.videoWidth, h / video.videoHeight);
      const dw = video.videoWidth * s, dh = video.videoHeight * s, ox = (w - dw) / 2, oy = (h - dh) / 2;
      const [iw, ih] = pose.image;
      const f = Math.floor(video.currentTime * FPS + 1e-6);
      for (const [name, kind] of Object.entries(pose.kinds)) {
        const hit = frameOf(kind, f);
        if (!hit) continue;
        frames.push(`${name}:${hit[0]}`);
        const xy = hit[1];
        const at = {};
        kind.joints.forEach((j, i) => {
          const x = xy[2 * i], y = xy[2 * i + 1];
          if (x === null || y === null || x < 0 || y < 0 || x > iw || y > ih) return;
          at[j] = [ox + (x * dw) / iw, oy + (y * dh) / ih];
        });
        ctx.strokeStyle = COLORS[name] || "#fff";
        ctx.fillStyle = COLORS[name] || "#fff";
        ctx.lineWidth = 2;
        for (const [a, b] of name === "hand" ? HAND : BODY) {
          if (!at[a] || !at[b]) continue;
          ctx.beginPath();
          ctx.moveTo(at[a][0], at[a][1]);
          ctx.lineTo(at[b][0], at[b][1]);
          ctx.stroke();
        }
        for (const [x, y] of Object.values(at)) {
          ctx.beginPath();
          ctx.arc(x, y, 3.5, 0, 2 * Math.PI);
          ctx.fill();
          drawn++;
        }
      }
    }
    canvas.dataset.points = String(drawn);
    canvas.dataset.frames = frames.join(" ");
  }
  poseToggle.addEventListener("change", drawPose);

  // ---------------------------------------------------------------- keyboard
  document.addEventListener("keydown", (e) => {
    // typing in a field is not a command; everywhere else (the video and the camera
    // buttons included) the keys below are, and their default action is suppressed
    if (e.target.closest && e.target.closest("input, textarea, select, [contenteditable]")) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = video.currentTime;
    if (e.key === " ") {
      if (video.paused) video.play(); else video.pause();
    } else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      const dir = e.key === "ArrowRight" ? 1 : -1;
      if (!e.shiftKey) video.pause();
      // a frame starts at k/30 s: land a little inside it so that rounding keeps it
      const f = Math.floor(t * FPS + 1e-6) + dir;
      seek(e.shiftKey ? t + 5 * dir : (Math.max(0, f) + 0.5) / FPS);
    } else if (e.key === "n" || e.key === "PageDown") {
      const next = data.keysteps.find((s) => s > t + 0.05);
      if (next !== undefined) seek(next);
    } else if (e.key === "p" || e.key === "PageUp") {
      const prev = data.keysteps.filter((s) => s < t - 0.5).pop();
      seek(prev !== undefined ? prev : 0);
    } else {
      return;
    }
    e.preventDefault();
  });

  loadPose(video.dataset.cam);
  if (data.t !== null && data.t !== undefined) {
    // ?t=SECONDS (a search hit's time): start there
    if (video.readyState >= 1) seek(data.t);
    else video.addEventListener("loadedmetadata", () => seek(data.t), { once: true });
  }
  update();
})();
