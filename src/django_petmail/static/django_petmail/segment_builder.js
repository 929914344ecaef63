/* Segment rule builder for the django-petmail admin.
 *
 * Progressive enhancement over the JSON "rules" textarea (marked data-petmail-rule-builder):
 * the textarea stays the form field; the builder writes JSON into it on every change, and
 * reads it back when a power user edits it ("Show JSON"). The field catalogue, the preview
 * URL, the server's errors and the builder's words come from data- attributes on the
 * textarea, so this file holds no language and no field names. Plain ES2015, no framework.
 */
(function () {
  "use strict";

  var BOOL_OPS = ["is_null", "exists"];
  var LIST_OPS = ["in", "not_in"];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(child);
    });
    return node;
  }

  function option(value, label, selected) {
    var node = el("option", { value: value, text: label });
    if (selected) node.selected = true;
    return node;
  }

  function readJSON(text, fallback) {
    try {
      return JSON.parse(text);
    } catch (e) {
      return fallback;
    }
  }

  function Builder(textarea) {
    this.textarea = textarea;
    this.fields = readJSON(textarea.dataset.fields || "[]", []);
    this.byName = {};
    this.fields.forEach(function (f) { this.byName[f.name] = f; }, this);
    this.msg = readJSON(textarea.dataset.messages || "{}", {});
    this.previewUrl = textarea.dataset.previewUrl;
    this.timer = null;
    this.requestId = 0;

    this.root = el("div", { className: "petmail-rule-builder", "data-petmail-builder": "" });
    this.tree = el("div", { className: "petmail-tree" });
    this.notice = el("p", { className: "petmail-notice", hidden: "" });
    this.preview = el("div", { className: "petmail-preview", "aria-live": "polite" });
    this.toggle = el("button", { type: "button", className: "button petmail-toggle-json" });
    this.root.appendChild(this.notice);
    this.root.appendChild(this.tree);
    this.root.appendChild(this.preview);
    this.root.appendChild(this.toggle);
    textarea.parentNode.insertBefore(this.root, textarea);

    var self = this;
    this.toggle.addEventListener("click", function () { self.showJSON(textarea.hidden); });
    textarea.addEventListener("change", function () { self.load(true); });
    this.load(false);
    this.showErrors(readJSON(textarea.dataset.errors || "[]", []));
  }

  Builder.prototype.t = function (key) { return this.msg[key] || key; };

  Builder.prototype.showJSON = function (show) {
    this.textarea.hidden = !show;
    this.toggle.textContent = show ? this.t("hide_json") : this.t("show_json");
  };

  /* --- JSON <-> tree ------------------------------------------------------------------- */

  Builder.prototype.load = function (refresh) {
    var text = this.textarea.value.trim();
    var data = text === "" || text === "null" ? {} : readJSON(text, undefined);
    var state = data === undefined ? null : this.parseRoot(data);
    if (state === null) {
      this.notice.textContent = this.t("invalid_json");
      this.notice.hidden = false;
      this.tree.hidden = true;
      this.showJSON(true);
      return;
    }
    this.notice.hidden = true;
    this.tree.hidden = false;
    this.state = state;
    this.showJSON(!this.textarea.hidden && refresh);
    this.render();
    if (refresh) this.changed(false);
    else this.schedulePreview();
  };

  Builder.prototype.parseRoot = function (data) {
    if (!data || typeof data !== "object" || Array.isArray(data)) return null;
    if (Object.keys(data).length === 0) return { operator: "AND", conditions: [], negate: false };
    if ("field" in data) data = { operator: "AND", conditions: [data] };
    if ("not" in data) data = { operator: "AND", conditions: [data] };
    return this.parseGroup(data, false);
  };

  Builder.prototype.parseGroup = function (data, negate) {
    if (!Array.isArray(data.conditions)) return null;
    var operator = String(data.operator || "AND").toUpperCase();
    var children = [];
    for (var i = 0; i < data.conditions.length; i++) {
      var child = this.parseNode(data.conditions[i]);
      if (child === null) return null;
      children.push(child);
    }
    return { operator: operator === "OR" ? "OR" : "AND", conditions: children, negate: negate };
  };

  Builder.prototype.parseNode = function (data) {
    if (!data || typeof data !== "object" || Array.isArray(data)) return null;
    if ("not" in data) {
      var inner = data.not;
      if (inner && typeof inner === "object" && "field" in inner) {
        inner = { operator: "AND", conditions: [inner] };
      }
      if (!inner || typeof inner !== "object" || "not" in inner) return null;
      return this.parseGroup(inner, true);
    }
    if ("conditions" in data || "operator" in data) return this.parseGroup(data, false);
    return { field: data.field, op: data.op, value: data.value, isCondition: true };
  };

  Builder.prototype.serialize = function () {
    if (this.state.conditions.length === 0) return {};
    return this.groupJSON(this.state);
  };

  Builder.prototype.groupJSON = function (group) {
    var self = this;
    var json = {
      operator: group.operator,
      conditions: group.conditions.map(function (child) {
        if (child.isCondition) return { field: child.field, op: child.op, value: child.value };
        var inner = self.groupJSON(child);
        return child.negate ? { not: inner } : inner;
      }),
    };
    return json;
  };

  Builder.prototype.changed = function (rerender) {
    if (rerender) this.render();
    this.textarea.value = JSON.stringify(this.serialize(), null, 2);
    this.schedulePreview();
  };

  /* --- rendering ------------------------------------------------------------------------ */

  Builder.prototype.render = function () {
    this.tree.textContent = "";
    this.rows = {};
    this.tree.appendChild(this.renderGroup(this.state, "", null, null));
  };

  Builder.prototype.renderGroup = function (group, path, parent, index) {
    var self = this;
    var box = el("fieldset", { className: "petmail-group", "data-path": path });
    this.rows[path] = box;
    var operator = el("select", { className: "petmail-operator", "aria-label": this.t("operator") }, [
      option("AND", this.t("all"), group.operator === "AND"),
      option("OR", this.t("any"), group.operator === "OR"),
    ]);
    operator.addEventListener("change", function () {
      group.operator = operator.value;
      self.changed(false);
    });
    var head = el("div", { className: "petmail-group-head" }, [operator]);
    if (parent) {
      var negate = el("input", { type: "checkbox", className: "petmail-negate" });
      negate.checked = group.negate;
      negate.addEventListener("change", function () {
        group.negate = negate.checked;
        self.changed(true);
      });
      head.appendChild(el("label", { className: "petmail-negate-label" }, [negate, document.createTextNode(" " + this.t("not"))]));
      head.appendChild(this.removeButton(parent, index));
    }
    box.appendChild(head);
    box.appendChild(el("ul", { className: "errorlist petmail-errors" }));
    if (!parent && group.conditions.length === 0) {
      box.appendChild(el("p", { className: "petmail-everyone help", text: this.t("everyone") }));
    }
    var prefix = path === "" ? "" : path + (group.negate ? ".not" : "") + ".";
    group.conditions.forEach(function (child, i) {
      var childPath = prefix + "conditions[" + i + "]";
      box.appendChild(child.isCondition
        ? self.renderCondition(child, childPath, group, i)
        : self.renderGroup(child, childPath, group, i));
    });
    var addCondition = el("button", { type: "button", className: "button petmail-add-condition", text: this.t("add_condition") });
    addCondition.addEventListener("click", function () {
      group.conditions.push(self.newCondition());
      self.changed(true);
    });
    var addGroup = el("button", { type: "button", className: "button petmail-add-group", text: this.t("add_group") });
    addGroup.addEventListener("click", function () {
      group.conditions.push({ operator: "OR", conditions: [self.newCondition()], negate: false });
      self.changed(true);
    });
    box.appendChild(el("div", { className: "petmail-group-actions" }, [addCondition, addGroup]));
    return box;
  };

  Builder.prototype.removeButton = function (parent, index) {
    var self = this;
    var button = el("button", { type: "button", className: "button petmail-remove", text: this.t("remove") });
    button.addEventListener("click", function () {
      parent.conditions.splice(index, 1);
      self.changed(true);
    });
    return button;
  };

  Builder.prototype.newCondition = function () {
    var field = this.fields[0] || { name: "", ops: [""] };
    return { field: field.name, op: field.ops[0], value: this.defaultValue(field, field.ops[0]), isCondition: true };
  };

  Builder.prototype.defaultValue = function (field, op) {
    if (BOOL_OPS.indexOf(op) >= 0 || field.type === "boolean") return true;
    if (LIST_OPS.indexOf(op) >= 0) return field.choices && field.choices.length ? [field.choices[0][0]] : [];
    if (op === "between") return ["", ""];
    if (field.choices && field.choices.length) return field.choices[0][0];
    return "";
  };

  Builder.prototype.renderCondition = function (cond, path, parent, index) {
    var self = this;
    var field = this.byName[cond.field];
    var row = el("div", { className: "petmail-condition", "data-path": path });
    this.rows[path] = row;

    var fieldSelect = el("select", { className: "petmail-field", "aria-label": this.t("field") });
    if (!field) fieldSelect.appendChild(option(cond.field || "", "? " + (cond.field || ""), true));
    this.fields.forEach(function (f) { fieldSelect.appendChild(option(f.name, f.label, f.name === cond.field)); });
    fieldSelect.addEventListener("change", function () {
      var chosen = self.byName[fieldSelect.value];
      cond.field = chosen.name;
      cond.op = chosen.ops[0];
      cond.value = self.defaultValue(chosen, cond.op);
      self.changed(true);
    });

    var ops = field ? field.ops : [cond.op];
    var opSelect = el("select", { className: "petmail-op", "aria-label": this.t("operator") });
    if (ops.indexOf(cond.op) < 0) opSelect.appendChild(option(cond.op || "", "? " + (cond.op || ""), true));
    ops.forEach(function (op) {
      var label = field && field.op_labels && field.op_labels[op] ? field.op_labels[op] : op;
      opSelect.appendChild(option(op, label, op === cond.op));
    });
    opSelect.addEventListener("change", function () {
      cond.op = opSelect.value;
      cond.value = self.defaultValue(field || {}, cond.op);
      self.changed(true);
    });

    row.appendChild(el("div", { className: "petmail-condition-line" }, [
      fieldSelect, opSelect, this.valueInput(cond, field || { type: "string", choices: [] }),
      this.removeButton(parent, index),
    ]));
    var help = [];
    if (field && field.help_text) help.push(field.help_text);
    if (LIST_OPS.indexOf(cond.op) >= 0 && !(field && field.choices.length)) help.push(this.t("list_help"));
    if (cond.op === "between") help.push(this.t("between_help"));
    if (field && field.value_help && BOOL_OPS.indexOf(cond.op) < 0) help.push(field.value_help);
    if (help.length) row.appendChild(el("div", { className: "help petmail-help", text: help.join(" ") }));
    row.appendChild(el("ul", { className: "errorlist petmail-errors" }));
    return row;
  };

  Builder.prototype.typed = function (field, text) {
    if (field.type === "number" && text.trim() !== "" && !isNaN(Number(text))) return Number(text);
    return text;
  };

  Builder.prototype.valueInput = function (cond, field) {
    var self = this;
    var choices = field.choices || [];
    var update = function (value) {
      cond.value = value;
      self.changed(false);
    };
    if (BOOL_OPS.indexOf(cond.op) >= 0 || field.type === "boolean") {
      var yesNo = el("select", { className: "petmail-value", "aria-label": this.t("value") }, [
        option("true", this.t("yes"), cond.value === true),
        option("false", this.t("no"), cond.value === false),
      ]);
      yesNo.addEventListener("change", function () { update(yesNo.value === "true"); });
      return yesNo;
    }
    if (choices.length) {
      var multiple = LIST_OPS.indexOf(cond.op) >= 0;
      var chosen = multiple ? (Array.isArray(cond.value) ? cond.value : []) : [cond.value];
      var select = el("select", { className: "petmail-value", "aria-label": this.t("value") });
      if (multiple) select.multiple = true;
      choices.forEach(function (c) { select.appendChild(option(c[0], c[1], chosen.indexOf(c[0]) >= 0)); });
      select.addEventListener("change", function () {
        var values = Array.prototype.filter.call(select.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
        update(multiple ? values : values[0]);
      });
      return select;
    }
    if (LIST_OPS.indexOf(cond.op) >= 0) {
      var lines = el("textarea", { className: "petmail-value", rows: "3", "aria-label": this.t("value") });
      lines.value = Array.isArray(cond.value) ? cond.value.join("\n") : "";
      lines.addEventListener("input", function () {
        update(lines.value.split("\n").map(function (s) { return s.trim(); })
          .filter(function (s) { return s !== ""; })
          .map(function (s) { return self.typed(field, s); }));
      });
      return lines;
    }
    if (cond.op === "between") {
      var pair = Array.isArray(cond.value) ? cond.value.slice(0, 2) : ["", ""];
      var low = el("input", { type: "text", className: "petmail-value petmail-low", "aria-label": this.t("value") });
      var high = el("input", { type: "text", className: "petmail-value petmail-high", "aria-label": this.t("value") });
      low.value = pair[0] === undefined ? "" : pair[0];
      high.value = pair[1] === undefined ? "" : pair[1];
      var both = function () { update([self.typed(field, low.value), self.typed(field, high.value)]); };
      low.addEventListener("input", both);
      high.addEventListener("input", both);
      return el("span", { className: "petmail-between" }, [low, high]);
    }
    var input = el("input", { type: "text", className: "petmail-value", "aria-label": this.t("value") });
    input.value = cond.value === undefined || cond.value === null ? "" : cond.value;
    input.addEventListener("input", function () { update(self.typed(field, input.value)); });
    return input;
  };

  /* --- errors and preview --------------------------------------------------------------- */

  /* "conditions[1].conditions[0].value" → the row of conditions[1].conditions[0]: the
   * longest prefix of the error's path that names a row; the root group otherwise. */
  Builder.prototype.rowFor = function (path) {
    var candidate = path === "rules" ? "" : path;
    while (candidate && !(candidate in this.rows)) {
      var cut = Math.max(candidate.lastIndexOf("."), candidate.lastIndexOf("["));
      candidate = cut > 0 ? candidate.slice(0, cut) : "";
    }
    return this.rows[candidate] || this.rows[""];
  };

  Builder.prototype.showErrors = function (errors) {
    var self = this;
    this.root.querySelectorAll(".petmail-errors").forEach(function (list) { list.textContent = ""; });
    this.root.querySelectorAll(".petmail-has-error").forEach(function (row) { row.classList.remove("petmail-has-error"); });
    if (!this.rows) return;
    (errors || []).forEach(function (error) {
      var row = self.rowFor(error.path || "");
      if (!row) return;
      row.classList.add("petmail-has-error");
      var list = row.querySelector(":scope > .petmail-errors");
      list.appendChild(el("li", { text: error.path ? error.path + ": " + error.message : error.message }));
    });
  };

  Builder.prototype.schedulePreview = function () {
    var self = this;
    if (!this.previewUrl || !window.fetch) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.runPreview(); }, 300);
  };

  Builder.prototype.runPreview = function () {
    var self = this;
    var id = ++this.requestId;
    var token = this.textarea.form && this.textarea.form.querySelector("[name=csrfmiddlewaretoken]");
    this.preview.textContent = this.t("counting");
    this.preview.dataset.state = "counting";
    fetch(this.previewUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token ? token.value : "" },
      body: JSON.stringify({ rules: this.serialize() }),
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (id !== self.requestId) return;
      self.preview.textContent = "";
      if (!result.ok) {
        self.preview.dataset.state = "error";
        self.showErrors(result.body.errors);
        return;
      }
      self.showErrors([]);
      self.preview.dataset.state = "ok";
      self.preview.dataset.count = result.body.count;
      self.preview.appendChild(el("strong", { className: "petmail-count", text: self.t("count").replace("%(count)s", result.body.count) }));
      if (result.body.sample.length) {
        self.preview.appendChild(el("span", { text: " " + self.t("sample") + " " }));
        self.preview.appendChild(el("span", { className: "petmail-sample", text: result.body.sample.map(function (m) { return m.email; }).join(", ") }));
      }
    }).catch(function () {
      if (id === self.requestId) {
        self.preview.textContent = "";
        self.preview.dataset.state = "failed";
      }
    });
  };

  function start() {
    document.querySelectorAll("textarea[data-petmail-rule-builder]").forEach(function (textarea) {
      if (!textarea.petmailBuilder) textarea.petmailBuilder = new Builder(textarea);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
