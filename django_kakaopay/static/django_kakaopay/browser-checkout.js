// Starts a payment (or a billing-key issue) in the provider's browser SDK,
// with the values the server wrote into the page, then goes to the return
// URL. What the SDK answers is passed on as query parameters only so that a
// person can read them in the logs: the return view never trusts them, it
// asks the provider.
(function () {
  "use strict";
  var RESULT_KEYS = ["paymentId", "billingKey", "code", "message", "pgCode", "pgMessage", "transactionType", "txId"];
  var section = document.getElementById("kp-browser-checkout");
  var button = document.getElementById("kp-start");
  var message = document.getElementById("kp-message");
  var spinner = document.getElementById("kp-spinner");
  var call = JSON.parse(document.getElementById("kp-sdk-call").textContent);
  var returnUrl = section.getAttribute("data-return-url");
  var started = false;

  function returnWith(result) {
    var url = new URL(returnUrl, window.location.href);
    RESULT_KEYS.forEach(function (key) {
      if (result && result[key] !== undefined && result[key] !== null) {
        url.searchParams.set(key, String(result[key]).slice(0, 500));
      }
    });
    window.location.assign(url.toString());
  }

  function showError() {
    spinner.hidden = true;
    message.textContent = section.getAttribute("data-load-error");
    button.disabled = false;
    started = false;
  }

  function start() {
    if (started) { return; }
    var sdk = window[call.global];
    if (!sdk || typeof sdk[call.method] !== "function") { showError(); return; }
    started = true;
    button.disabled = true;
    spinner.hidden = false;
    var answer;
    try {
      answer = sdk[call.method](call.arguments);
    } catch (error) {
      showError();
      return;
    }
    // In redirect mode (phones) the SDK leaves this page itself and the
    // promise never settles; in a popup or iframe (PC) it resolves here.
    Promise.resolve(answer).then(function (result) {
      if (result) { returnWith(result); return; }
      // Nothing to pass on (the SDK may still be redirecting): stay, and let
      // the customer open the window again or say they have finished.
      spinner.hidden = true;
      button.disabled = false;
      started = false;
    }, showError);
  }

  button.addEventListener("click", start);
  // Both scripts are deferred, so they run in order: the SDK has run (or
  // failed to load) by now.
  start();
}());
