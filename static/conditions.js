// Auditrail.showIf(source) -> (seen) => boolean: the checklist's show_if language
// (server/checklists/conditions.py), so that an answer given with no network shows or
// hides the items that depend on it at once. The server's evaluation stays the rule: the
// form uses this one only for items whose conditions read changes not yet sent.
"use strict";

window.Auditrail = window.Auditrail || {};

(function (A) {
  const TOKEN = /\s*(?:('[^']*'|"[^"]*")|(-?\d+(?:\.\d+)?)|(==|!=|<=|>=|<|>|\(|\)|\[|\]|,)|([A-Za-z][A-Za-z0-9_.-]*))/y;
  const KEYWORDS = new Set(["and", "or", "not", "in", "is", "answered"]);

  function tokens(source) {
    const out = [];
    const text = source.trimEnd();
    TOKEN.lastIndex = 0;
    while (TOKEN.lastIndex < text.length) {
      const m = TOKEN.exec(text);
      if (!m) throw new Error("bad condition");
      if (m[1] !== undefined) out.push(["str", m[1].slice(1, -1)]);
      else if (m[2] !== undefined) out.push(["num", parseFloat(m[2])]);
      else if (m[3] !== undefined) out.push(["op", m[3]]);
      else out.push([KEYWORDS.has(m[4]) ? "kw" : "word", m[4]]);
    }
    return out;
  }

  const answered = (a) => !(a === undefined || a === null || a === "" ||
                            (Array.isArray(a) && !a.length));
  function equal(answer, value) {
    if (typeof value === "number") return parseFloat(answer) === value;
    return String(answer) === value;
  }

  function test(item, op, values) {
    return (seen) => {
      const answer = seen[item];
      if (op === "answered") return answered(answer);
      if (op === "not_answered") return !answered(answer);
      if (!answered(answer)) return false;
      if (Array.isArray(answer)) {
        const hit = values.some((v) => answer.map(String).includes(String(v)));
        return op === "==" || op === "in" ? hit : op === "!=" ? !hit : false;
      }
      if (op === "==" || op === "in") return values.some((v) => equal(answer, v));
      if (op === "!=") return !equal(answer, values[0]);
      const left = parseFloat(answer);
      const right = parseFloat(values[0]);
      if (Number.isNaN(left) || Number.isNaN(right)) return false;
      return { "<": left < right, "<=": left <= right, ">": left > right,
               ">=": left >= right }[op];
    };
  }

  function parse(source) {
    const list = tokens(source);
    let pos = 0;
    const peek = () => list[pos];
    const at = (text) => peek() && peek()[1] === text && (peek()[0] === "kw" || peek()[0] === "op");
    const take = () => list[pos++];
    const value = () => {
      const tok = take();
      if (!tok || (tok[0] !== "str" && tok[0] !== "num")) throw new Error("bad value");
      return tok[1];
    };
    function or() {
      const parts = [and()];
      while (at("or")) { take(); parts.push(and()); }
      return parts.length === 1 ? parts[0] : (s) => parts.some((p) => p(s));
    }
    function and() {
      const parts = [not()];
      while (at("and")) { take(); parts.push(not()); }
      return parts.length === 1 ? parts[0] : (s) => parts.every((p) => p(s));
    }
    function not() {
      if (at("not")) { take(); const inner = not(); return (s) => !inner(s); }
      if (at("(")) { take(); const inner = or(); take(); return inner; }
      const item = take()[1];
      if (at("in")) {
        take(); take(); // in [
        const values = [value()];
        while (at(",")) { take(); values.push(value()); }
        take(); // ]
        return test(item, "in", values);
      }
      if (at("is")) {
        take();
        const negate = at("not") ? (take(), true) : false;
        take(); // answered
        return test(item, negate ? "not_answered" : "answered", []);
      }
      const op = take()[1];
      return test(item, op, [value()]);
    }
    const node = or();
    if (pos !== list.length) throw new Error("bad condition");
    return node;
  }

  const parsed = new Map();
  A.showIf = (source) => {
    if (!parsed.has(source)) {
      try { parsed.set(source, parse(source)); } catch (e) { parsed.set(source, null); }
    }
    return parsed.get(source);
  };
})(window.Auditrail);
