// postpost dashboard: times in the browser's own time zone (no dependencies).
//  - input[name=time_zone] gets the browser's IANA zone, [data-zone-name] shows it;
//  - <time data-local datetime="…Z"> shows the instant in local time;
//  - input[type=datetime-local][data-utc="…Z"] is filled with that instant in local time;
//  - the calendar ([data-add-zone]) reloads once with ?tz=<zone> so its days are local days.
"use strict";

(() => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const pad = (n) => String(n).padStart(2, "0");

  const marker = document.querySelector("[data-add-zone]");
  if (marker) {
    const url = new URL(window.location.href);
    if (!url.searchParams.get("tz")) {
      url.searchParams.set("tz", zone);
      window.location.replace(url.toString());
      return;
    }
  }

  document.querySelectorAll("input[name=time_zone]").forEach((input) => { input.value = zone; });
  document.querySelectorAll("[data-zone-name]").forEach((el) => { el.textContent = zone; });

  const format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  document.querySelectorAll("time[data-local]").forEach((el) => {
    const when = new Date(el.getAttribute("datetime"));
    if (!Number.isNaN(when.getTime())) {
      el.title = el.textContent;
      el.textContent = format.format(when);
    }
  });

  document.querySelectorAll("input[data-utc]").forEach((input) => {
    const when = new Date(input.dataset.utc);
    if (!input.dataset.utc || Number.isNaN(when.getTime())) return;
    input.value = `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}` +
      `T${pad(when.getHours())}:${pad(when.getMinutes())}`;
  });
})();
