/* What a phone signs (docs/cloud-voting.md, "Signed statements"): a flat JSON object of
   integers and ASCII strings — v 1, the statement type t, the village log's origin and that
   type's fields — in canonical JSON (RFC 8785: keys sorted, no spaces). The server builds the
   same text with sunvote.domain.ledger.device.expected_statement; both sides are checked against
   the shared test vectors in tests/vectors/device_statements.json. No libraries. */
(function () {
  "use strict";
  var FIELDS = {  /* each type's fields besides v, t and log (device.STATEMENT_KEYS) */
    enrol: ["member", "key", "challenge"],
    attend: ["meeting", "member", "code"],
    ballot: ["meeting", "poll", "member", "choice", "ballot"],
    participation: ["meeting", "poll", "member"]
  };
  function canonical(obj) {
    return "{" + Object.keys(obj).sort().map(function (k) {
      return JSON.stringify(k) + ":" + JSON.stringify(obj[k]);
    }).join(",") + "}";
  }
  /* The text of a statement of type t for the log, with exactly that type's fields. */
  function build(t, log, fields) {
    var names = FIELDS[t];
    if (!names) { throw new Error("unknown statement type " + t); }
    var given = Object.keys(fields).sort(), wanted = names.slice().sort();
    if (given.join(",") !== wanted.join(",")) {
      throw new Error("a " + t + " statement has the fields " + wanted.join(", "));
    }
    var statement = { v: 1, t: t, log: log };
    names.forEach(function (k) { statement[k] = fields[k]; });
    return canonical(statement);
  }
  window.SunVoteStatement = { build: build };
}());
