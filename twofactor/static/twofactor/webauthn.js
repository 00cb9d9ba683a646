/* Passkeys in the browser: registering one on the Two-factor page, signing in with one on the sign-in
   page, and the second step. A static file (the Content-Security-Policy allows no inline script); the
   options and answers travel as JSON with base64url for binary fields, converted here by hand so that
   browsers without PublicKeyCredential.parseCreationOptionsFromJSON work too. */
(function () {
  "use strict";

  function toBuffer(text) {
    let s = String(text).replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toText(buffer) {
    const bytes = new Uint8Array(buffer);
    let bin = "";
    for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
      body: JSON.stringify(body || {}),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { /* not JSON: the status says enough */ }
    if (!response.ok) throw new Error(data.message || ("The server answered " + response.status + "."));
    return data;
  }

  function creationOptions(options) {
    options.challenge = toBuffer(options.challenge);
    options.user.id = toBuffer(options.user.id);
    (options.excludeCredentials || []).forEach(function (c) { c.id = toBuffer(c.id); });
    return options;
  }

  function requestOptions(options) {
    options.challenge = toBuffer(options.challenge);
    (options.allowCredentials || []).forEach(function (c) { c.id = toBuffer(c.id); });
    return options;
  }

  function credentialJSON(credential) {
    const r = credential.response;
    const out = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: {clientDataJSON: toText(r.clientDataJSON)},
    };
    if (r.attestationObject) {
      out.response.attestationObject = toText(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    }
    if (r.authenticatorData) {
      out.response.authenticatorData = toText(r.authenticatorData);
      out.response.signature = toText(r.signature);
      if (r.userHandle) out.response.userHandle = toText(r.userHandle);
    }
    return out;
  }

  async function signIn(box) {
    const options = await post(box.dataset.optionsUrl);
    const credential = await navigator.credentials.get({publicKey: requestOptions(options.publicKey)});
    return post(box.dataset.verifyUrl, {credential: credentialJSON(credential), next: box.dataset.next || ""});
  }

  async function register(box) {
    const options = await post(box.dataset.optionsUrl);
    const credential = await navigator.credentials.create({publicKey: creationOptions(options.publicKey)});
    const name = box.querySelector("[data-passkey-name]");
    return post(box.dataset.verifyUrl, {credential: credentialJSON(credential), name: name ? name.value : ""});
  }

  function wire(box, run) {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      const note = document.querySelector("[data-passkey-unsupported]");
      if (note) note.hidden = false;
      return;
    }
    box.hidden = false;
    const button = box.querySelector("[data-passkey-start]");
    const error = box.querySelector("[data-passkey-error]");
    button.addEventListener("click", async function () {
      error.textContent = "";
      button.disabled = true;
      try {
        const answer = await run(box);
        window.location.assign(answer.redirect || "/");
      } catch (e) {
        error.textContent = e && e.name === "NotAllowedError"
          ? "The passkey request was cancelled or timed out."
          : (e && e.message) || String(e);
        button.disabled = false;
      }
    });
  }

  document.querySelectorAll("[data-passkey-sign-in], [data-passkey-second-step]").forEach(function (box) {
    wire(box, signIn);
  });
  document.querySelectorAll("[data-passkey-register]").forEach(function (box) { wire(box, register); });
})();
