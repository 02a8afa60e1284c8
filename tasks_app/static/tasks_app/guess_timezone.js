// Sign-up: send the browser's IANA time zone with the form, so the new account starts in it.
// The server checks the name and ignores one it does not know.
(function () {
  "use strict";
  let zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    zone = "";
  }
  for (const input of document.querySelectorAll("input[data-guess-timezone]")) {
    input.value = zone;
  }
})();
