// The sandbox page: shows the stand-in Slack workspace as one person sees it, and turns what
// they do into calls to the sandbox's JSON API, which sends the app the requests Slack would.
// Plain JavaScript, no build step, nothing fetched from anywhere but this machine.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const API = "/sandbox/api";
  const POLL_MS = 700;

  let state = null;
  let viewer = localStorage.getItem("cultivate.viewer") || "U0ASHA";
  let place = readPlace();
  const drafts = {}; // view id -> {block_id: {action_id: answer}}: what the person has typed
  const viewErrors = {}; // view id -> {block_id: message}, from response_action: errors
  const shown = {}; // part of the page -> the data it was last drawn from
  let homeOpenedFor = null;

  // -- talking to the sandbox ----------------------------------------------------------------

  async function call(path, body) {
    const options = body === undefined
      ? { cache: "no-store" }
      : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    const response = await fetch(`${API}${path}`, options);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `the sandbox answered ${response.status}`);
    return data;
  }

  async function refresh() {
    state = await call(`/state?as=${encodeURIComponent(viewer)}`);
    render();
  }

  function refreshSoon() {
    // The app answers Slack at once and does its work after: look again shortly.
    for (const delay of [0, 150, 400, 900]) setTimeout(() => refresh().catch(showProblem), delay);
  }

  async function perform(path, body, { note, unheard } = {}) {
    try {
      const result = await call(path, body);
      if (result.status === 404 && unheard) {
        say(unheard(result)); // an event the app does not listen for: Slack would not mind
      } else if (result.status && result.status >= 400) {
        say(`The app answered ${result.status}${result.status === 404 ? " (it has no listener for that)" : ""}.`, true);
      } else if (note) {
        say(note(result));
      }
      refreshSoon();
      return result;
    } catch (error) {
      say(error.message, true);
      throw error;
    }
  }

  function say(text, isError = false) {
    const note = $("composer-note");
    note.textContent = text;
    note.classList.toggle("error", isError);
  }

  function showProblem(error) {
    say(`The sandbox is not answering: ${error.message}`, true);
  }

  // -- small helpers --------------------------------------------------------------------------

  function h(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "html") node.innerHTML = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (value === true) node.setAttribute(key, "");
      else node.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const escapeHtml = (text) =>
    String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  // Slack escapes exactly these three in message text.
  const unescapeSlack = (text) => String(text).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

  function readPlace() {
    try {
      return JSON.parse(localStorage.getItem("cultivate.place")) || { kind: "channel", id: "C0HOUSING" };
    } catch {
      return { kind: "channel", id: "C0HOUSING" };
    }
  }

  function go(next) {
    place = next;
    localStorage.setItem("cultivate.place", JSON.stringify(place));
    say("");
    render();
    if (place.kind === "home") openHome();
  }

  const person = (id) => (state && state.people.find((p) => p.id === id)) || null;
  const nameOf = (id) => {
    const p = person(id);
    return p ? p.display_name || p.real_name : id;
  };
  const fullNameOf = (id) => {
    const p = person(id);
    return p ? p.real_name : id;
  };
  const conversation = (id) => (state && state.conversations.find((c) => c.id === id)) || null;
  const appDm = () => state.conversations.find((c) => c.kind === "app") || null;
  const humans = () => state.people.filter((p) => !p.is_bot);
  const groupName = (c) => c.members.filter((m) => m !== state.bot).map(nameOf).join(", ");

  function avatarColour(id) {
    let hash = 0;
    for (const c of id) hash = (hash * 31 + c.charCodeAt(0)) % 360;
    return `hsl(${hash}, 45%, 42%)`;
  }

  // -- time ------------------------------------------------------------------------------------

  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const fmt = (options) => new Intl.DateTimeFormat("en-US", options);

  function ordinal(day) {
    const tens = day % 100;
    if (tens >= 11 && tens <= 13) return `${day}th`;
    return `${day}${{ 1: "st", 2: "nd", 3: "rd" }[day % 10] || "th"}`;
  }

  function localDay(date) {
    // Days since the epoch, counted in the browser's time zone.
    const parts = Object.fromEntries(fmt({ year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(date).map((p) => [p.type, p.value]));
    return Math.floor(Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day)) / 86400000);
  }

  function relativeDay(date) {
    const difference = localDay(date) - localDay(new Date(state.now * 1000));
    return { "-1": "yesterday", 0: "today", 1: "tomorrow" }[difference] || null;
  }

  function dayLabel(date) {
    const relative = relativeDay(date);
    if (relative) return relative[0].toUpperCase() + relative.slice(1);
    const sameYear = fmt({ year: "numeric" }).format(date) === fmt({ year: "numeric" }).format(new Date(state.now * 1000));
    const day = `${fmt({ weekday: "long" }).format(date)}, ${fmt({ month: "long" }).format(date)} ${ordinal(Number(fmt({ day: "numeric" }).format(date)))}`;
    return sameYear ? day : `${day}, ${fmt({ year: "numeric" }).format(date)}`;
  }

  function ago(date) {
    const seconds = Math.round(state.now - date.getTime() / 1000);
    const past = seconds >= 0;
    const size = Math.abs(seconds);
    const units = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60]];
    for (const [unit, length] of units) {
      if (size >= length) {
        const n = Math.floor(size / length);
        const words = `${n} ${unit}${n === 1 ? "" : "s"}`;
        return past ? `${words} ago` : `in ${words}`;
      }
    }
    return "just now";
  }

  function dateToken(token, date) {
    const longDate = () => `${fmt({ month: "long" }).format(date)} ${ordinal(Number(fmt({ day: "numeric" }).format(date)))}, ${fmt({ year: "numeric" }).format(date)}`;
    const values = {
      date_num: () => {
        const p = Object.fromEntries(fmt({ year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(date).map((x) => [x.type, x.value]));
        return `${p.year}-${p.month}-${p.day}`;
      },
      date: longDate,
      date_short: () => fmt({ month: "short", day: "numeric", year: "numeric" }).format(date),
      date_long: () => `${fmt({ weekday: "long" }).format(date)}, ${longDate()}`,
      date_pretty: () => relativeDay(date) || longDate(),
      date_short_pretty: () => relativeDay(date) || fmt({ month: "short", day: "numeric", year: "numeric" }).format(date),
      date_long_pretty: () => relativeDay(date) || `${fmt({ weekday: "long" }).format(date)}, ${longDate()}`,
      time: () => fmt({ hour: "numeric", minute: "2-digit" }).format(date),
      time_secs: () => fmt({ hour: "numeric", minute: "2-digit", second: "2-digit" }).format(date),
      ago: () => ago(date),
    };
    return values[token] ? values[token]() : null;
  }

  function slackDate(target, fallback) {
    // <!date^1700000000^{date_short_pretty} at {time}^optional-link|fallback>
    const [, seconds, format = "{date}", link] = target.split("^");
    const stamp = Number(seconds);
    if (!Number.isFinite(stamp)) return escapeHtml(unescapeSlack(fallback || ""));
    const date = new Date(stamp * 1000);
    const text = format.replace(/\{(\w+)\}/g, (whole, token) => dateToken(token, date) ?? whole);
    const html = `<time class="slack-date" datetime="${date.toISOString()}" title="${escapeHtml(unescapeSlack(fallback || ""))}">${escapeHtml(text)}</time>`;
    return link && /^https?:/i.test(link) ? `<a href="${escapeHtml(link)}" target="_blank" rel="noopener noreferrer">${html}</a>` : html;
  }

  // -- mrkdwn ----------------------------------------------------------------------------------

  function angle(inner) {
    const bar = inner.indexOf("|");
    const target = bar === -1 ? inner : inner.slice(0, bar);
    const label = bar === -1 ? "" : inner.slice(bar + 1);
    if (target.startsWith("@")) {
      const id = target.slice(1);
      return `<span class="mention" data-user="${escapeHtml(id)}">@${escapeHtml(person(id) ? nameOf(id) : unescapeSlack(label || id))}</span>`;
    }
    if (target.startsWith("#")) {
      const id = target.slice(1);
      const channel = conversation(id);
      const name = channel ? channel.name : unescapeSlack(label || id);
      return `<a class="channel-link" data-channel="${escapeHtml(id)}">#${escapeHtml(name)}</a>`;
    }
    if (target.startsWith("!date^")) return slackDate(target, label);
    if (target.startsWith("!subteam^")) return `<span class="mention">${escapeHtml(unescapeSlack(label || "@group"))}</span>`;
    if (target.startsWith("!")) return `<span class="mention">@${escapeHtml(target.slice(1))}</span>`;
    const url = unescapeSlack(target);
    if (/^(https?:|mailto:)/i.test(url)) {
      return `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${escapeHtml(unescapeSlack(label || target))}</a>`;
    }
    return escapeHtml(unescapeSlack(label || target));
  }

  // The shortcodes Cultivate writes, drawn as Slack draws them; any other stays as typed.
  const EMOJI = {
    wave: "\u{1F44B}", seedling: "\u{1F331}", heavy_multiplication_x: "\u2716\uFE0F",
    white_check_mark: "\u2705", warning: "\u26A0\uFE0F", raised_hand: "\u270B",
    inbox_tray: "\u{1F4E5}", calendar: "\u{1F4C6}", bulb: "\u{1F4A1}", tada: "\u{1F389}",
  };

  function mrkdwn(raw) {
    const held = [];
    const hold = (html) => `\u0001${held.push(html) - 1}\u0002`;
    let text = String(raw ?? "");
    text = text.replace(/```([\s\S]*?)```/g, (_, code) => hold(`<pre>${escapeHtml(unescapeSlack(code))}</pre>`));
    text = text.replace(/`([^`\n]+)`/g, (_, code) => hold(`<code>${escapeHtml(unescapeSlack(code))}</code>`));
    text = text.replace(/<([^<>\n]+)>/g, (_, inner) => hold(angle(inner)));
    let html = escapeHtml(unescapeSlack(text));
    html = html.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] ?? whole);
    html = html.replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?!\w)/g, "$1<b>$2</b>");
    html = html.replace(/(^|[^\w_])_(?=\S)([^_\n]*?\S)_(?!\w)/g, "$1<i>$2</i>");
    html = html.replace(/(^|[^\w~])~(?=\S)([^~\n]*?\S)~(?!\w)/g, "$1<s>$2</s>");
    html = html
      .split("\n")
      .map((line) => (line.startsWith("&gt; ") ? `<blockquote>${line.slice(5)}</blockquote>` : line))
      .join("\n")
      .replace(/<\/blockquote>\n/g, "</blockquote>")
      .replace(/\n/g, "<br>");
    return html.replace(/\u0001(\d+)\u0002/g, (_, n) => held[Number(n)]);
  }

  function textHtml(textObject) {
    if (!textObject) return "";
    if (textObject.type === "mrkdwn") return mrkdwn(textObject.text);
    return escapeHtml(textObject.text ?? "").replace(/\n/g, "<br>");
  }

  const plainText = (textObject) => (textObject && textObject.text) || "";

  // -- Block Kit -------------------------------------------------------------------------------

  function isLocalUrl(url) {
    // Nothing is fetched from the internet: only images served from this machine are shown.
    try {
      const parsed = new URL(url, location.href);
      return parsed.protocol === "data:" || ["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname);
    } catch {
      return false;
    }
  }

  function image(url, alt, className) {
    if (isLocalUrl(url)) return h("img", { src: url, alt: alt || "", class: className });
    let host = "";
    try { host = new URL(url).hostname; } catch { host = "?"; }
    return h("span", { class: "image-placeholder", title: url }, `Image: ${alt || "image"} (from ${host}, not loaded in the sandbox)`);
  }

  function renderBlocks(blocks, ctx) {
    const container = h("div", { class: "blocks" });
    (blocks || []).forEach((block, index) => container.append(renderBlock(block, index, ctx)));
    return container;
  }

  function renderBlock(block, index, ctx) {
    switch (block.type) {
      case "section": {
        const node = h("div", { class: "block block-section", dataset: { blockId: block.block_id || "" } });
        const body = h("div", { class: "text" });
        if (block.text) body.append(h("div", { html: textHtml(block.text) }));
        if (block.fields) body.append(h("div", { class: "fields" }, block.fields.map((f) => h("div", { html: textHtml(f) }))));
        node.append(body);
        if (block.accessory) node.append(renderElement(block.accessory, block, index, ctx));
        return node;
      }
      case "header":
        return h("div", { class: "block block-header", text: plainText(block.text) });
      case "divider":
        return h("hr", { class: "block-divider" });
      case "context":
        return h("div", { class: "block block-context" }, (block.elements || []).map((e) =>
          e.type === "image" ? image(e.image_url, e.alt_text) : h("span", { html: textHtml(e) })));
      case "image":
        return h("figure", { class: "block block-image" },
          block.title ? h("figcaption", { text: plainText(block.title) }) : null,
          image(block.image_url, block.alt_text));
      case "actions":
        return h("div", { class: "block block-actions", dataset: { blockId: block.block_id || "" } },
          (block.elements || []).map((e) => renderElement(e, block, index, ctx)));
      case "input":
        return ctx.form ? renderInput(block, index, ctx) : h("div", { class: "unknown-block", text: "[an input block outside a form]" });
      case "rich_text":
        return h("div", { class: "text", text: richText(block) });
      default:
        return h("div", { class: "unknown-block", text: `[${block.type} block: not drawn by the sandbox]` });
    }
  }

  function richText(node) {
    if (!node) return "";
    if (typeof node.text === "string") return node.text;
    if (node.type === "user") return `@${nameOf(node.user_id)}`;
    if (node.type === "channel") return `#${(conversation(node.channel_id) || { name: node.channel_id }).name}`;
    if (node.type === "link") return node.text || node.url;
    return (node.elements || []).map(richText).join(node.type === "rich_text" ? "\n" : "");
  }

  function optionsOf(element) {
    const options = [...(element.options || [])];
    for (const group of element.option_groups || []) options.push(...(group.options || []));
    return options;
  }

  function selectOptions(element, selected, { multiple = false, placeholder } = {}) {
    const chosen = new Set(multiple ? selected || [] : selected ? [selected] : []);
    const make = (o) => h("option", { value: o.value, selected: chosen.has(o.value) }, plainText(o.text));
    const children = [];
    if (!multiple) children.push(h("option", { value: "" }, placeholder || plainText(element.placeholder) || "Choose an option"));
    if (element.option_groups) {
      for (const group of element.option_groups) children.push(h("optgroup", { label: plainText(group.label) }, group.options.map(make)));
    } else {
      children.push(...(element.options || []).map(make));
    }
    return children;
  }

  const peopleOptions = () => humans().map((p) => ({ value: p.id, text: { text: p.real_name } }));
  const channelOptions = () => state.conversations
    .filter((c) => c.kind === "channel" || c.kind === "private")
    .map((c) => ({ value: c.id, text: { text: `#${c.name}` } }));

  function pickerOptions(element) {
    if (element.type.includes("users")) return peopleOptions();
    if (element.type.includes("conversations") || element.type.includes("channels")) return channelOptions();
    return optionsOf(element);
  }

  // A select as it offers its options: a static one its own, any other what its picker finds.
  function offering(element) {
    if (element.type.endsWith("static_select")) return element;
    return { ...element, options: pickerOptions(element), option_groups: undefined };
  }

  function selectedValues(select) {
    return [...select.selectedOptions].map((o) => o.value).filter((v) => v !== "");
  }

  async function act(ctx, block, index, element, answer) {
    if (element.confirm && !window.confirm(`${plainText(element.confirm.title)}\n\n${plainText(element.confirm.text)}`)) return;
    const body = {
      as: viewer,
      source: ctx.source,
      block_index: index,
      block_id: block.block_id || null,
      action_id: element.action_id,
      answer,
    };
    if (ctx.form) body.values = drafts[ctx.form.viewId] || {};
    await perform("/action", body).catch(() => {});
  }

  // An interactive element in a message, an actions block, a section's accessory, or the Home tab.
  function renderElement(element, block, index, ctx) {
    const use = (answer) => act(ctx, block, index, element, answer);
    switch (element.type) {
      case "button": {
        const style = element.style ? ` ${element.style}` : "";
        if (element.url) {
          return h("a", { class: `btn${style}`, href: element.url, target: "_blank", rel: "noopener noreferrer" }, plainText(element.text));
        }
        return h("button", { type: "button", class: `btn${style}`, dataset: { actionId: element.action_id }, onclick: () => use(null) }, plainText(element.text));
      }
      case "image":
        return image(element.image_url, element.alt_text);
      case "overflow":
        return h("select", { class: "element-select", "aria-label": "More", dataset: { actionId: element.action_id }, onchange: (e) => e.target.value && use(e.target.value) },
          h("option", { value: "" }, "⋯"), (element.options || []).map((o) => h("option", { value: o.value }, plainText(o.text))));
      case "static_select":
      case "external_select":
      case "users_select":
      case "conversations_select":
      case "channels_select": {
        const initial = (element.initial_option || {}).value || element.initial_user || element.initial_conversation || element.initial_channel;
        return h("select", { class: "element-select", "aria-label": plainText(element.placeholder) || element.action_id, dataset: { actionId: element.action_id }, onchange: (e) => e.target.value && use(e.target.value) },
          selectOptions(offering(element), initial));
      }
      case "multi_static_select":
      case "multi_users_select":
      case "multi_conversations_select":
      case "multi_channels_select":
        return h("select", { class: "element-select", multiple: true, dataset: { actionId: element.action_id }, onchange: (e) => use(selectedValues(e.target)) },
          selectOptions(offering(element), [], { multiple: true }));
      case "datepicker":
        return h("input", { type: "date", value: element.initial_date, dataset: { actionId: element.action_id }, onchange: (e) => use(e.target.value || null) });
      case "timepicker":
        return h("input", { type: "time", value: element.initial_time, dataset: { actionId: element.action_id }, onchange: (e) => use(e.target.value || null) });
      case "checkboxes":
      case "radio_buttons": {
        const many = element.type === "checkboxes";
        const group = `${ctx.source.kind}-${index}-${element.action_id}`;
        return h("div", { class: "choices" }, (element.options || []).map((o) => h("label", {},
          h("input", {
            type: many ? "checkbox" : "radio", name: group, value: o.value,
            onchange: (e) => {
              const box = e.target.closest(".choices");
              use(many ? [...box.querySelectorAll("input:checked")].map((i) => i.value) : e.target.value);
            },
          }), h("span", { html: textHtml(o.text) }))));
      }
      default:
        return h("span", { class: "unknown-block", text: `[${element.type}]` });
    }
  }

  // -- forms (modals) --------------------------------------------------------------------------

  function draftOf(viewId, blockId, actionId) {
    const block = (drafts[viewId] || {})[blockId];
    return block && actionId in block ? { value: block[actionId] } : null;
  }

  function setDraft(viewId, blockId, actionId, value) {
    drafts[viewId] = drafts[viewId] || {};
    drafts[viewId][blockId] = drafts[viewId][blockId] || {};
    drafts[viewId][blockId][actionId] = value;
  }

  function initialOf(element) {
    if (element.initial_option) return element.initial_option.value;
    if (element.initial_options) return element.initial_options.map((o) => o.value);
    for (const key of ["initial_value", "initial_user", "initial_users", "initial_conversation", "initial_conversations",
      "initial_channel", "initial_channels", "initial_date", "initial_time", "initial_date_time"]) {
      if (key in element) return element[key];
    }
    return null;
  }

  function toLocalInput(seconds) {
    const date = new Date(seconds * 1000);
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
  }

  function renderInput(block, index, ctx) {
    const element = block.element || {};
    const viewId = ctx.form.viewId;
    const blockId = block.block_id || "";
    const actionId = element.action_id || "";
    const saved = draftOf(viewId, blockId, actionId);
    const current = saved ? saved.value : initialOf(element);
    const fieldId = `field-${viewId}-${index}`;
    const remember = (value) => {
      setDraft(viewId, blockId, actionId, value);
      if (block.dispatch_action) act(ctx, block, index, element, value);
    };
    const control = element.type === "external_select"
      ? externalSelect(element, current, remember, fieldId, { viewId, blockId, actionId })
      : formControl(element, current, remember, fieldId);
    const error = (viewErrors[viewId] || {})[blockId];
    return h("div", { class: `input-block${error ? " has-error" : ""}`, dataset: { blockId } },
      h("label", { class: "field-label", id: `${fieldId}-label`, for: fieldId }, plainText(block.label), block.optional ? h("span", { class: "optional" }, " (optional)") : null),
      control,
      block.hint ? h("div", { class: "hint", text: plainText(block.hint) }) : null,
      error ? h("div", { class: "error", role: "alert", text: error }) : null);
  }

  // An external select: what is typed goes to the app as block_suggestion, as Slack sends it,
  // and the options it answers fill the list to choose from.
  function externalSelect(element, current, remember, fieldId, where) {
    const known = new Map();
    if (element.initial_option) known.set(element.initial_option.value, element.initial_option);
    if (current && !known.has(current)) known.set(current, { value: current, text: { type: "plain_text", text: current } });
    const select = h("select", { id: fieldId, onchange: (e) => remember(e.target.value || null) },
      selectOptions({ ...element, options: [...known.values()] }, current));
    const search = h("input", {
      type: "search", class: "external-search", "aria-label": `Search: ${plainText(element.placeholder) || where.actionId}`,
      placeholder: "Type to search",
      oninput: async (e) => {
        const typed = e.target.value;
        if (typed.length < (element.min_query_length ?? 3)) return;
        const found = await call("/suggest", { as: viewer, view_id: where.viewId, block_id: where.blockId, action_id: where.actionId, typed }).catch(showProblem);
        const options = (found && found.options) || [];
        const chosen = select.value;
        select.replaceChildren(...selectOptions({ ...element, options }, chosen));
        if (options.length && !options.some((o) => o.value === chosen)) {
          select.value = options[0].value;
          remember(options[0].value);
        }
      },
    });
    return h("div", { class: "external-select" }, search, select);
  }

  function formControl(element, current, remember, fieldId) {
    const placeholder = plainText(element.placeholder) || undefined;
    const text = (value) => (value === "" ? null : value);
    switch (element.type) {
      case "plain_text_input":
      case "rich_text_input": {
        const multiline = element.multiline || element.type === "rich_text_input";
        const props = { id: fieldId, placeholder, maxlength: element.max_length, oninput: (e) => remember(text(e.target.value)) };
        if (multiline) return h("textarea", props, current ?? "");
        return h("input", { ...props, type: "text", value: current ?? "" });
      }
      case "number_input":
        return h("input", { id: fieldId, type: "number", step: element.is_decimal_allowed ? "any" : "1", min: element.min_value, max: element.max_value, placeholder, value: current ?? "", oninput: (e) => remember(text(e.target.value)) });
      case "email_text_input":
      case "url_text_input":
        return h("input", { id: fieldId, type: element.type === "email_text_input" ? "email" : "url", placeholder, value: current ?? "", oninput: (e) => remember(text(e.target.value)) });
      case "static_select":
      case "external_select":
      case "users_select":
      case "conversations_select":
      case "channels_select":
        return h("select", { id: fieldId, onchange: (e) => remember(e.target.value || null) },
          selectOptions(offering(element), current));
      case "multi_static_select":
      case "multi_users_select":
      case "multi_conversations_select":
      case "multi_channels_select":
        return h("select", { id: fieldId, multiple: true, onchange: (e) => remember(selectedValues(e.target)) },
          selectOptions(offering(element), current || [], { multiple: true }));
      case "radio_buttons":
      case "checkboxes": {
        const many = element.type === "checkboxes";
        const chosen = new Set(many ? current || [] : current ? [current] : []);
        // A label's `for` cannot name a group: the group names its label instead.
        const box = h("div", { class: "choices", id: fieldId, role: many ? "group" : "radiogroup", "aria-labelledby": `${fieldId}-label` });
        for (const option of element.options || []) {
          box.append(h("label", {},
            h("input", {
              type: many ? "checkbox" : "radio", name: fieldId, value: option.value, checked: chosen.has(option.value),
              onchange: () => remember(many
                ? [...box.querySelectorAll("input:checked")].map((i) => i.value)
                : (box.querySelector("input:checked") || {}).value || null),
            }),
            h("span", {}, h("span", { html: textHtml(option.text) }),
              option.description ? h("div", { class: "description", html: textHtml(option.description) }) : null)));
        }
        return box;
      }
      case "datepicker":
        return h("input", { id: fieldId, type: "date", value: current ?? "", onchange: (e) => remember(e.target.value || null) });
      case "timepicker":
        return h("input", { id: fieldId, type: "time", value: current ?? "", onchange: (e) => remember(e.target.value || null) });
      case "datetimepicker":
        return h("input", {
          id: fieldId, type: "datetime-local", value: current ? toLocalInput(current) : "",
          onchange: (e) => remember(e.target.value ? Math.floor(new Date(e.target.value).getTime() / 1000) : null),
        });
      default:
        return h("div", { class: "unknown-block", text: `[${element.type}: not drawn by the sandbox]` });
    }
  }

  function renderModal() {
    const layer = $("modal-layer");
    const stack = state.modal || [];
    const top = stack[stack.length - 1];
    const key = top ? JSON.stringify([top.id, top.hash, stack.length, viewErrors[top.id] || {}]) : "";
    if (shown.modal === key) return; // redrawing would throw away focus and the caret
    shown.modal = key;
    if (!top) {
      layer.hidden = true;
      layer.replaceChildren();
      return;
    }
    const ctx = { source: { kind: "view", view_id: top.id }, form: { viewId: top.id } };
    const closeOne = () => perform("/close", { as: viewer, view_id: top.id, all: false }).catch(() => {});
    const closeAll = () => perform("/close", { as: viewer, view_id: top.id, all: true }).catch(() => {});
    const dialog = h("form", {
      class: "dialog", role: "dialog", "aria-modal": "true", "aria-label": plainText(top.title), novalidate: true,
      onsubmit: (e) => { e.preventDefault(); submitView(top); },
    },
    h("div", { class: "dialog-head" },
      h("div", {}, h("h2", { text: plainText(top.title) }), stack.length > 1 ? h("div", { class: "stack-note", text: `form ${stack.length} of ${stack.length}, on top of “${plainText(stack[stack.length - 2].title)}”` }) : null),
      h("button", { type: "button", class: "close-x", "aria-label": "Close all", title: "Close", onclick: closeAll }, "×")),
    h("div", { class: "dialog-body" }, renderBlocks(top.blocks, ctx)),
    h("div", { class: "dialog-foot" },
      h("button", { type: "button", class: "btn", onclick: closeOne }, plainText(top.close) || "Cancel"),
      top.submit ? h("button", { type: "submit", class: "btn primary" }, plainText(top.submit)) : null));
    layer.replaceChildren(dialog);
    layer.hidden = false;
  }

  async function submitView(view) {
    try {
      const result = await perform("/submit", { as: viewer, view_id: view.id, values: drafts[view.id] || {} });
      viewErrors[view.id] = result.errors || {};
      shown.modal = null;
      const problems = Object.keys(viewErrors[view.id]).length;
      if (problems) say("The form has a problem: see the message under the field.", true);
      else if (result.status === 200) say("");
      await refresh();
      if (problems) showFirstError();
    } catch {
      // `perform` has said what went wrong
    }
  }

  function showFirstError() {
    // The field may be far down a long form: bring it into view, and put the caret in it.
    const field = $("modal-layer").querySelector(".input-block.has-error");
    if (!field) return;
    field.scrollIntoView({ block: "center" });
    const control = field.querySelector("input, textarea, select");
    if (control) control.focus({ preventScroll: true });
  }

  // -- the reader: canvases and files ------------------------------------------------------------

  function markdown(source) {
    // Enough of canvas markdown to read one: headings, lists, checkboxes, bold, italics, links, code.
    const inline = (text) => escapeHtml(text)
      .replace(/!\[\]\(@(\w+)\)/g, (_, id) => `<span class="mention">@${escapeHtml(nameOf(id))}</span>`)
      .replace(/!\[\]\(#(\w+)\)/g, (_, id) => `<span class="channel-link">#${escapeHtml((conversation(id) || { name: id }).name)}</span>`)
      .replace(/`([^`]+)`/g, "<code>$1</code>")
      .replace(/\*\*([^*]+)\*\*/g, "<b>$1</b>")
      .replace(/(^|[^\w*])[*_]([^*_]+)[*_](?!\w)/g, "$1<i>$2</i>")
      .replace(/~~([^~]+)~~/g, "<s>$1</s>")
      .replace(/\[([^\]]+)\]\(((?:https?:|mailto:)[^)\s]+)\)/g, '<a href="$2" target="_blank" rel="noopener noreferrer">$1</a>');
    const out = [];
    let list = null;
    const closeList = () => { if (list) { out.push(`</${list}>`); list = null; } };
    for (const line of String(source).split("\n")) {
      const heading = line.match(/^(#{1,3})\s+(.*)$/);
      const bullet = line.match(/^\s*[-*]\s+(\[( |x)\]\s+)?(.*)$/);
      const numbered = line.match(/^\s*\d+\.\s+(.*)$/);
      if (heading) { closeList(); out.push(`<h${heading[1].length}>${inline(heading[2])}</h${heading[1].length}>`); }
      else if (bullet) {
        if (list !== "ul") { closeList(); out.push("<ul>"); list = "ul"; }
        const box = bullet[1] ? (bullet[2] === "x" ? "☑ " : "☐ ") : "";
        out.push(`<li>${box}${inline(bullet[3])}</li>`);
      } else if (numbered) {
        if (list !== "ol") { closeList(); out.push("<ol>"); list = "ol"; }
        out.push(`<li>${inline(numbered[1])}</li>`);
      } else if (!line.trim()) { closeList(); }
      else { closeList(); out.push(`<p>${inline(line)}</p>`); }
    }
    closeList();
    return out.join("");
  }

  function openReader(title, body) {
    const layer = $("reader-layer");
    const close = () => { layer.hidden = true; layer.replaceChildren(); };
    layer.replaceChildren(h("div", { class: "dialog reader", role: "dialog", "aria-label": title },
      h("div", { class: "dialog-head" }, h("h2", { text: title }), h("button", { type: "button", class: "close-x", "aria-label": "Close", onclick: close }, "×")),
      h("div", { class: "dialog-body" }, body)));
    layer.hidden = false;
  }

  function openCanvas(canvasId) {
    const canvas = state.canvases.find((c) => c.id === canvasId);
    if (!canvas) return;
    const title = canvas.title || (canvas.channel ? `#${(conversation(canvas.channel) || { name: canvas.channel }).name} canvas` : "Canvas");
    openReader(title, h("div", { class: "canvas", html: markdown(canvas.markdown) || "<p class='muted'>This canvas is empty.</p>" }));
  }

  async function openFile(file) {
    const url = `${API}/files/${encodeURIComponent(file.id)}`;
    const response = await fetch(url, { cache: "no-store" });
    const type = response.headers.get("Content-Type") || "";
    let body;
    if (/^(text\/|application\/(json|xml|csv))/.test(type)) {
      body = h("pre", { class: "file-text", text: await response.text() });
    } else if (type.startsWith("image/")) {
      body = h("img", { src: url, alt: file.title, style: "max-width:100%" });
    } else {
      body = h("p", {}, "This file cannot be shown here. ", h("a", { href: url, download: file.name }, "Download it"));
    }
    // Every file can be saved as the person would save it from Slack (a calendar's .ics too).
    const download = h("a", { href: url, download: file.name }, "Download");
    openReader(file.title || file.name, h("div", {}, h("p", { class: "muted" }, `${file.name} · ${file.size} bytes · `, download), body));
  }

  // -- drawing the page --------------------------------------------------------------------------

  function render() {
    if (!state) return;
    renderSidebar();
    renderClock();
    renderHeader();
    renderTimeline();
    renderModal();
    renderDeliveries();
    renderRefusals();
  }

  function changed(part, data) {
    const key = JSON.stringify(data);
    if (shown[part] === key) return false;
    shown[part] = key;
    return true;
  }

  function renderSidebar() {
    if (!changed("sidebar", [state.viewer, state.people, state.conversations, state.canvases, place])) return;
    $("workspace-name").textContent = state.team.name;
    const select = $("viewer");
    select.replaceChildren(...humans().map((p) => h("option", { value: p.id, selected: p.id === viewer }, `${p.real_name}`)));
    const me = person(viewer);
    $("viewer-about").textContent = me ? `${me.title ? `${me.title} · ` : ""}${me.tz}` : "";

    const channels = state.conversations.filter((c) => c.kind === "channel" || c.kind === "private");
    $("channels").replaceChildren(...channels.map((c) => h("li", {}, h("button", {
      type: "button",
      class: [c.is_member ? "member" : "", place.kind === "channel" && place.id === c.id ? "current" : ""].join(" ").trim(),
      dataset: { channel: c.id },
      title: c.is_member ? "" : "You are not in this channel",
      onclick: () => go({ kind: "channel", id: c.id }),
    }, `${c.kind === "private" ? "◆" : "#"} ${c.name}${c.is_archived ? " (archived)" : ""}`))));

    $("apps").replaceChildren(
      h("li", {}, h("button", { type: "button", class: "member", onclick: () => go({ kind: "home" }) }, "Cultivate")),
      h("li", { class: "sub" }, h("button", { type: "button", dataset: { app: "home" }, class: place.kind === "home" ? "current" : "", onclick: () => go({ kind: "home" }) }, "Home")),
      h("li", { class: "sub" }, h("button", { type: "button", dataset: { app: "messages" }, class: place.kind === "messages" ? "current" : "", onclick: () => go({ kind: "messages" }) }, "Messages")));

    // Group DMs the app opened with this person and others.
    const groups = state.conversations.filter((c) => c.kind === "group");
    $("groups-heading").hidden = !groups.length;
    $("groups").replaceChildren(...groups.map((c) => h("li", {}, h("button", {
      type: "button",
      class: place.kind === "channel" && place.id === c.id ? "current" : "",
      dataset: { channel: c.id },
      onclick: () => go({ kind: "channel", id: c.id }),
    }, groupName(c)))));

    $("canvas-list").replaceChildren(...(state.canvases.length
      ? state.canvases.map((c) => h("li", {}, h("button", { type: "button", onclick: () => openCanvas(c.id) },
        `${c.title || `#${(conversation(c.channel) || { name: "?" }).name} canvas`}`)))
      : [h("li", { class: "muted" }, "None yet")]));
  }

  function renderClock() {
    if (!changed("clock", state.now)) return;
    const now = new Date(state.now * 1000);
    const text = fmt({ weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "numeric", minute: "2-digit" }).format(now);
    $("clock").textContent = `Sandbox time: ${text} (${browserZone})`;
    $("clock").dataset.now = String(state.now);
  }

  function currentConversation() {
    if (place.kind === "messages") return appDm();
    if (place.kind === "channel") return conversation(place.id);
    return null;
  }

  function renderHeader() {
    const conv = currentConversation();
    if (!changed("header", [place, conv, state.files, state.people])) return;
    const tabs = $("tabs");
    const tools = $("channel-tools");
    const compose = $("compose");
    if (place.kind === "home" || place.kind === "messages") {
      $("title").textContent = "Cultivate";
      $("topic").textContent = "The app: its Home tab, and your direct messages with it.";
      tabs.replaceChildren(
        h("button", { type: "button", class: place.kind === "home" ? "current" : "", onclick: () => go({ kind: "home" }) }, "Home"),
        h("button", { type: "button", class: place.kind === "messages" ? "current" : "", onclick: () => go({ kind: "messages" }) }, "Messages"));
      tools.replaceChildren();
      $("composer").hidden = place.kind === "home";
      compose.placeholder = "Message Cultivate, or type /cop help";
      return;
    }
    $("composer").hidden = false;
    tabs.replaceChildren();
    if (!conv) {
      $("title").textContent = "Choose a channel";
      $("topic").textContent = "";
      tools.replaceChildren();
      return;
    }
    $("title").textContent = conv.kind === "group" ? groupName(conv) : `${conv.kind === "private" ? "◆" : "#"} ${conv.name}`;
    $("topic").textContent = conv.topic || conv.purpose || "";
    compose.placeholder = conv.kind === "group" ? "Message the group, or type /cop help" : `Message #${conv.name}, or type /cop help`;
    const members = conv.members.filter((m) => m !== state.bot);
    const outside = humans().filter((p) => !conv.members.includes(p.id));
    const files = state.files.filter((f) => f.channel === conv.id);
    tools.replaceChildren(...[
      h("span", { class: "muted", title: members.map(fullNameOf).join(", ") }, `${members.length} member${members.length === 1 ? "" : "s"}: ${members.map(nameOf).join(", ")}`),
      conv.canvas ? h("button", { type: "button", class: "btn", onclick: () => openCanvas(conv.canvas) }, "Channel canvas") : null,
      files.length ? h("span", { class: "muted" }, `· ${files.length} file${files.length === 1 ? "" : "s"}`) : null,
      conv.kind === "group" ? null : outside.length
        ? h("span", { class: "join" }, "· ",
          h("select", { id: "joiner", "aria-label": "Someone who joins" }, outside.map((p) => h("option", { value: p.id }, p.real_name))),
          " ",
          h("button", { type: "button", class: "btn", id: "join-button", onclick: () => join(conv.id) }, "joins this channel"))
        : h("span", { class: "muted" }, "· everyone is here"),
    ].filter(Boolean));
  }

  function join(channelId) {
    const who = $("joiner").value;
    perform("/join", { as: who, channel: channelId }, {
      note: () => `${fullNameOf(who)} joined; the app was told (member_joined_channel).`,
      unheard: () => `${fullNameOf(who)} joined; the app was told (member_joined_channel) and has no listener for it.`,
    }).catch(() => {});
  }

  function renderTimeline() {
    const timeline = $("timeline");
    if (place.kind === "home") {
      if (!changed("timeline", [place, state.home, state.people, Math.floor(state.now / 60)])) return;
      const ctx = { source: { kind: "home" }, form: state.home ? { viewId: state.home.id } : null };
      timeline.replaceChildren(state.home
        ? h("div", { class: "home" }, renderBlocks(state.home.blocks, ctx))
        : h("div", { class: "empty" }, "Opening the Home tab…"));
      return;
    }
    const conv = currentConversation();
    const messages = conv ? state.messages[conv.id] || [] : [];
    const ephemerals = conv ? state.ephemerals.filter((e) => e.channel === conv.id) : [];
    if (!changed("timeline", [place, conv && conv.id, messages, ephemerals, state.people, state.conversations.map((c) => c.name), Math.floor(state.now / 60)])) return;
    const nearBottom = timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 80;
    const entries = [
      ...messages.map((m) => ({ message: m, ephemeral: false })),
      ...ephemerals.map((m) => ({ message: m, ephemeral: true })),
    ].sort((a, b) => Number(a.message.ts) - Number(b.message.ts));
    if (!entries.length) {
      timeline.replaceChildren(h("div", { class: "empty" }, place.kind === "messages"
        ? "No messages from Cultivate yet."
        : "Nothing here yet. Type /cop help below to see what Cultivate can do."));
      return;
    }
    // A line with the day before each day's first message, as Slack draws it: after a jump
    // in time the times alone would not say which day they were on.
    const drawn = [];
    let day = null;
    for (const { message, ephemeral } of entries) {
      const date = new Date(Number(message.ts) * 1000);
      if (localDay(date) !== day) {
        day = localDay(date);
        drawn.push(h("div", { class: "day-divider", role: "separator", dataset: { day: String(day) } }, h("span", { text: dayLabel(date) })));
      }
      drawn.push(renderMessage(message, conv, ephemeral));
    }
    timeline.replaceChildren(...drawn);
    if (nearBottom || shown.lastPlace !== JSON.stringify(place)) timeline.scrollTop = timeline.scrollHeight;
    shown.lastPlace = JSON.stringify(place);
  }

  function renderMessage(message, conv, ephemeral) {
    if (message.subtype === "channel_join" || message.subtype === "channel_leave") {
      return h("div", { class: "system", dataset: { ts: message.ts } }, h("span", { html: mrkdwn(message.text) }), " ", h("span", { class: "stamp", text: fmt({ hour: "numeric", minute: "2-digit" }).format(new Date(Number(message.ts) * 1000)) }));
    }
    const author = message.user || state.bot;
    const isBot = Boolean(message.bot_id) || author === state.bot || ephemeral;
    const name = isBot ? "Cultivate" : fullNameOf(author);
    const ctx = { source: ephemeral ? { kind: "ephemeral", ts: message.ts, channel: conv.id } : { kind: "message", ts: message.ts, channel: conv.id }, form: null };
    const classes = ["message", ephemeral ? "ephemeral" : "", message.thread_ts && message.thread_ts !== message.ts ? "thread-reply" : ""].join(" ").trim();
    const files = (message.files || []).map((f) => h("button", { type: "button", class: "file-card", onclick: () => openFile({ id: f.id, title: f.title, name: f.name, size: f.size }) },
      `${f.title || f.name}`, h("small", {}, `${(f.filetype || "").toUpperCase()} · ${f.size} bytes · open`)));
    return h("div", { class: classes, dataset: { ts: message.ts } },
      h("div", { class: "avatar", style: `background:${isBot ? "#2f5d3a" : avatarColour(author)}` }, name.slice(0, 1)),
      h("div", {},
        ephemeral ? h("div", { class: "only-you" }, "Only visible to you") : null,
        h("div", {}, h("span", { class: "sender", text: name }), isBot ? h("span", { class: "badge" }, "APP") : null,
          h("span", { class: "stamp", title: new Date(Number(message.ts) * 1000).toString(), text: fmt({ hour: "numeric", minute: "2-digit" }).format(new Date(Number(message.ts) * 1000)) }),
          message.edited ? h("span", { class: "stamp" }, " (edited)") : null,
          shortcutsFor(message, conv, ephemeral)),
        message.blocks && message.blocks.length ? renderBlocks(message.blocks, ctx) : h("div", { class: "text", html: mrkdwn(message.text) }),
        files.length ? h("div", { class: "files" }, files) : null));
  }

  // A message's menu: the app's message shortcuts, for people's messages in a channel.
  function shortcutsFor(message, conv, ephemeral) {
    if (ephemeral || !(conv.kind === "channel" || conv.kind === "private") || !(state.shortcuts || []).length) return null;
    return h("span", { class: "message-menu" }, ...state.shortcuts.map((s) =>
      h("button", { type: "button", class: "btn", title: `Message shortcut: ${s.name}`,
        onclick: () => perform("/shortcut", { as: state.viewer, channel: conv.id, ts: message.ts, callback_id: s.callback_id }, {
          note: () => `“${s.name}” chosen on the message; the app was told (message_action).`,
        }) }, `⋯ ${s.name}`)));
  }

  function renderDeliveries() {
    if (!changed("deliveries", state.deliveries)) return;
    $("delivery-count").textContent = `(${state.deliveries.length})`;
    const describe = (status) => (status === 404 ? "no listener (404)" : status >= 400 ? `refused (${status})` : `${status}`);
    $("delivery-log").replaceChildren(...[...state.deliveries].reverse().map((d) => h("li", { class: d.status >= 400 ? "bad" : "" },
      `${fmt({ month: "short", day: "numeric", hour: "numeric", minute: "2-digit" }).format(new Date(d.at * 1000))} · ${d.what} → ${describe(d.status)}`)));
  }

  function renderRefusals() {
    if (!changed("refusals", state.refusals)) return;
    const box = $("refusals");
    box.hidden = !state.refusals.length;
    box.textContent = state.refusals.length
      ? `Slack would have refused ${state.refusals.length} call(s) from the app:\n${state.refusals.slice(-3).join("\n")}`
      : "";
  }

  function openHome() {
    // Slack tells the app each time someone opens its Home tab.
    homeOpenedFor = viewer;
    perform("/home", { as: viewer }).catch(() => {});
  }

  // -- wiring ----------------------------------------------------------------------------------

  $("viewer").addEventListener("change", (e) => {
    viewer = e.target.value;
    localStorage.setItem("cultivate.viewer", viewer);
    for (const part of Object.keys(shown)) shown[part] = null;
    say("");
    refresh().then(() => { if (place.kind === "home" && homeOpenedFor !== viewer) openHome(); }).catch(showProblem);
  });

  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const box = $("compose");
    const text = box.value.trim();
    if (!text) return;
    const conv = currentConversation();
    const channel = place.kind === "messages" ? "app" : conv && conv.id;
    if (!channel) return;
    perform("/command", { as: viewer, channel, text }).then(() => { box.value = ""; say(""); }).catch(() => {});
  });

  $("compose").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      $("composer").requestSubmit();
    }
  });

  document.querySelectorAll("[data-travel]").forEach((button) => button.addEventListener("click", () => {
    const seconds = Number(button.dataset.travel);
    perform("/travel", { seconds }, { note: (r) => `Travelled ${button.textContent.slice(1)}: ${r.sent} scheduled message${r.sent === 1 ? "" : "s"} sent.` }).catch(() => {});
  }));

  $("demo").addEventListener("click", async () => {
    const button = $("demo");
    button.disabled = true;
    say("Playing a month of a community through the app: people join, post, meet and answer its forms…");
    try {
      const result = await perform("/demo", { as: viewer }, {
        note: () => "The demo community has had its month: /cop health and /cop report are in your messages with Cultivate.",
      });
      if (result.channel) { await refresh(); go({ kind: "channel", id: result.channel }); say("The demo community has had its month: /cop health and /cop report are in your messages with Cultivate."); }
    } catch {
      // `perform` has said what went wrong
    } finally {
      button.disabled = false;
    }
  });

  document.addEventListener("click", (e) => {
    const link = e.target.closest(".channel-link[data-channel]");
    if (link && conversation(link.dataset.channel)) go({ kind: "channel", id: link.dataset.channel });
  });

  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("reader-layer").hidden) {
      $("reader-layer").hidden = true;
      $("reader-layer").replaceChildren();
    }
  });

  refresh().then(() => { if (place.kind === "home") openHome(); }).catch(showProblem);
  setInterval(() => refresh().catch(showProblem), POLL_MS);
})();
