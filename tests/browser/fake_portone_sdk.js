// A stand-in for PortOne's V2 browser SDK, for the browser tests only.
//
// It defines what the checkout page calls, window.PortOne.requestPayment and
// window.PortOne.requestIssueBillingKey, records every call, and answers the
// way the test chose with the ?mode= query parameter of this script's URL:
//
//   popup    the promise resolves with the result, as PortOne's iframe does on PCs
//   redirect the SDK leaves the page for arguments.redirectUrl with the result in
//            its query string, as PortOne does on phones; the promise never settles
//   cancel   the promise resolves with PortOne's error shape (code and message)
//   nothing  the promise resolves with undefined, as the SDK may while it redirects
//   hold     nothing happens: the page stays as it is (for a screenshot)
//
// Each call is kept in window.__portoneCalls, in sessionStorage and in
// localStorage (which outlives the navigation to the return page on the same
// origin), and is sent with navigator.sendBeacon to the test's recording URL.
(function () {
  "use strict";
  var STORAGE_KEY = "fakePortOneCalls";
  var BILLING_KEY = "billing-key-0191a2b3-0000-7000-8000-000000000042";
  var TX_ID = "0191a2b3-0000-7000-8000-00000000abcd";
  var CANCEL_CODE = "FAILURE_TYPE_PG";
  var CANCEL_MESSAGE = "사용자가 결제를 취소하였습니다";

  var script = document.currentScript;
  var source = new URL(script ? script.src : window.location.href);
  var mode = source.searchParams.get("mode") || "popup";
  var recordUrl = new URL("calls/", source).toString();

  function remember(storage, entry) {
    try {
      var calls = JSON.parse(storage.getItem(STORAGE_KEY) || "[]");
      calls.push(entry);
      storage.setItem(STORAGE_KEY, JSON.stringify(calls));
    } catch (error) {
      // Storage may be unavailable; the other records still hold the call.
    }
  }

  function record(method, args) {
    var entry = { method: method, arguments: args, mode: mode, page: window.location.href };
    window.__portoneCalls = window.__portoneCalls || [];
    window.__portoneCalls.push(entry);
    remember(window.sessionStorage, entry);
    remember(window.localStorage, entry);
    if (navigator.sendBeacon) {
      navigator.sendBeacon(recordUrl, new Blob([JSON.stringify(entry)], { type: "text/plain" }));
    }
  }

  function never() {
    return new Promise(function () {});
  }

  function answer(args, result) {
    if (mode === "hold") {
      return never();
    }
    if (mode === "nothing") {
      return Promise.resolve(undefined);
    }
    if (mode === "cancel") {
      var failure = { code: CANCEL_CODE, message: CANCEL_MESSAGE };
      Object.keys(result).forEach(function (key) {
        if (key !== "billingKey") { failure[key] = result[key]; }
      });
      return Promise.resolve(failure);
    }
    if (mode === "redirect") {
      var url = new URL(args.redirectUrl, window.location.href);
      Object.keys(result).forEach(function (key) {
        url.searchParams.set(key, result[key]);
      });
      window.location.href = url.toString();
      return never();
    }
    return Promise.resolve(result);
  }

  window.PortOne = {
    requestPayment: function (args) {
      record("requestPayment", args);
      return answer(args, { transactionType: "PAYMENT", txId: TX_ID, paymentId: args.paymentId });
    },
    requestIssueBillingKey: function (args) {
      record("requestIssueBillingKey", args);
      return answer(args, { transactionType: "ISSUE_BILLING_KEY", billingKey: BILLING_KEY });
    },
  };
}());
