// postpost dashboard composer: the live preview, file uploads with progress, save and schedule.
// The server decides everything (POST /app/compose/preview runs create-post's own checks); this
// script only gathers the form, describes the chosen files and shows what comes back.
"use strict";

(() => {
  const form = document.getElementById("composer");
  if (!form) return;
  const preview = document.getElementById("preview");
  const status = document.getElementById("preview-status");
  const problemBox = document.getElementById("submit-problem");
  const fileInput = document.getElementById("files");
  const fileList = document.getElementById("file-list");
  const files = []; // {file, description, alt (input), progress (element)}
  let sequence = 0;
  let timer = null;

  const csrf = () => (window.postpostCsrfToken ? window.postpostCsrfToken() : "");

  async function postJson(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (_error) { data = {}; }
    return { ok: response.ok, status: response.status, data };
  }

  function selectedPlatforms() {
    return Array.from(form.querySelectorAll("input[name=platforms]:checked"));
  }

  function platformSettings() {
    const names = new Set(selectedPlatforms().map((box) => box.dataset.platform));
    const settings = {};
    form.querySelectorAll("[data-settings-for]").forEach((set) => {
      const name = set.dataset.settingsFor;
      if (!names.has(name)) return;
      const values = {};
      set.querySelectorAll("[data-setting]").forEach((input) => {
        values[input.dataset.setting] = input.dataset.kind === "bool" ? input.checked : input.value;
      });
      settings[name] = values;
    });
    return settings;
  }

  function postBody() {
    const body = {
      content: form.elements.content.value,
      platforms: selectedPlatforms().map((box) => box.value),
      platformSettings: platformSettings(),
      media: files.map((f) => f.description),
    };
    if (files.length) body.altTexts = files.map((f) => (f.alt.value.trim() ? f.alt.value : null));
    return body;
  }

  async function refreshPreview() {
    const mine = ++sequence;
    const result = await postJson("/app/compose/preview", postBody());
    if (mine !== sequence) return; // a newer preview is on its way
    if (result.ok) {
      preview.innerHTML = result.data.html;
      const accounts = result.data.platforms.length;
      const refused = result.data.platforms.filter((p) => p.errors.length).length;
      if (result.data.ok) status.textContent = "Preview updated: ready to publish.";
      else if (refused) status.textContent = `Preview updated: ${refused} of ${accounts} accounts would refuse this post.`;
      else status.textContent = "Preview updated: the post cannot be saved as it is.";
    } else {
      preview.textContent = result.data.error || `The preview failed (HTTP ${result.status}).`;
    }
  }

  function schedulePreview() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refreshPreview, 300);
  }

  // What the browser can tell about a file before it is uploaded.
  function describe(file) {
    const kind = (file.type || "").split("/")[0];
    const description = {
      type: kind === "image" || kind === "video" ? kind : "",
      contentType: file.type || "",
      fileName: file.name,
      size: file.size,
    };
    const url = URL.createObjectURL(file);
    return new Promise((resolve) => {
      const done = () => resolve({ description, url });
      if (kind === "image") {
        const img = new Image();
        img.onload = () => { description.width = img.naturalWidth; description.height = img.naturalHeight; done(); };
        img.onerror = done;
        img.src = url;
      } else if (kind === "video") {
        const video = document.createElement("video");
        video.preload = "metadata";
        video.onloadedmetadata = () => {
          description.width = video.videoWidth;
          description.height = video.videoHeight;
          if (Number.isFinite(video.duration)) description.duration = video.duration;
          done();
        };
        video.onerror = done;
        video.src = url;
      } else {
        done();
      }
    });
  }

  function sizeText(bytes) {
    return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
  }

  async function addFiles(chosen) {
    for (const file of chosen) {
      const { description, url } = await describe(file);
      const index = files.length + 1;
      const item = document.createElement("li");
      item.className = "file-item";
      if (description.type === "image") {
        const thumb = document.createElement("img");
        thumb.src = url;
        thumb.alt = "";
        thumb.width = 64;
        item.append(thumb);
      }
      const info = document.createElement("div");
      info.className = "stack";
      const name = document.createElement("p");
      name.textContent = `${file.name} · ${sizeText(file.size)}` +
        (description.width ? ` · ${description.width}×${description.height}` : "");
      const altId = `alt-${index}-${Date.now()}`;
      const altLabel = document.createElement("label");
      altLabel.htmlFor = altId;
      altLabel.textContent = `Alt text for ${file.name}`;
      const alt = document.createElement("input");
      alt.type = "text";
      alt.id = altId;
      alt.className = "alt-text";
      const progress = document.createElement("progress");
      progress.max = 100;
      progress.value = 0;
      progress.hidden = true;
      progress.setAttribute("aria-label", `Upload of ${file.name}`);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Remove ${file.name}`);
      const entry = { file, description, alt, progress, item };
      remove.addEventListener("click", () => {
        files.splice(files.indexOf(entry), 1);
        item.remove();
        URL.revokeObjectURL(url);
        schedulePreview();
      });
      alt.addEventListener("input", schedulePreview);
      info.append(name, altLabel, alt, progress);
      item.append(info, remove);
      fileList.append(item);
      files.push(entry);
    }
    schedulePreview();
  }

  function upload(entry, uploadUrl) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open("PUT", uploadUrl);
      request.setRequestHeader("Content-Type", entry.description.contentType);
      entry.progress.hidden = false;
      request.upload.onprogress = (event) => {
        if (event.lengthComputable) entry.progress.value = Math.round((event.loaded / event.total) * 100);
      };
      request.onload = () => {
        if (request.status >= 200 && request.status < 300) {
          entry.progress.value = 100;
          resolve();
          return;
        }
        let message = `The upload of ${entry.file.name} failed (HTTP ${request.status})`;
        try { message = JSON.parse(request.responseText).error || message; } catch (_error) { /* keep */ }
        reject(new Error(message));
      };
      request.onerror = () => reject(new Error(`The upload of ${entry.file.name} failed`));
      request.send(entry.file);
    });
  }

  function showProblem(message, draftUrl) {
    problemBox.textContent = message;
    if (draftUrl) {
      const link = document.createElement("a");
      link.href = draftUrl;
      link.textContent = "Open the saved draft";
      problemBox.append(" ", link);
    }
    problemBox.hidden = false;
    problemBox.focus();
  }

  async function submit(schedule) {
    problemBox.hidden = true;
    const timing = {
      scheduledLocal: form.elements.scheduled_local.value,
      timeZone: form.elements.time_zone.value,
    };
    const created = await postJson("/app/compose/posts", { ...postBody(), ...timing, schedule });
    if (!created.ok) {
      showProblem(created.data.error || `Saving failed (HTTP ${created.status})`);
      return;
    }
    const { postGroupId, url } = created.data;
    for (const entry of files) {
      const signed = await postJson("/app/media/upload-url", {
        postGroupId,
        fileName: entry.file.name,
        contentType: entry.description.contentType,
      });
      if (!signed.ok) {
        showProblem(signed.data.error || "The upload could not start", url);
        return;
      }
      try {
        await upload(entry, signed.data.uploadUrl);
      } catch (error) {
        showProblem(error.message, url);
        return;
      }
    }
    if (!schedule) {
      window.location.assign(url);
      return;
    }
    const scheduled = await postJson(`/app/posts/${postGroupId}/schedule`, timing);
    if (!scheduled.ok) {
      showProblem(scheduled.data.error || `Scheduling failed (HTTP ${scheduled.status})`, url);
      return;
    }
    window.location.assign(scheduled.data.url);
  }

  form.addEventListener("input", (event) => {
    if (event.target !== fileInput) schedulePreview();
  });
  form.addEventListener("change", (event) => {
    if (event.target === fileInput) {
      addFiles(Array.from(fileInput.files || []));
      fileInput.value = "";
    } else {
      schedulePreview();
    }
  });
  // Enter in a one-line field (alt text, a setting) must not schedule the post.
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.tagName === "INPUT" && event.target.type !== "submit") {
      event.preventDefault();
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const schedule = !event.submitter || event.submitter.value !== "draft";
    const buttons = form.querySelectorAll("button[type=submit]");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await submit(schedule);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
  problemBox.tabIndex = -1;
})();
