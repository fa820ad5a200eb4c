// Turn cards: what the recogniser heard, what the DST read, the policy's value of every action, the guard, the offer,
// the reply and each stage's latency. The same cards come from the console's WebSocket, a LiveKit room's text stream
// and the stored calls. Stable data-testid hooks are listed in the README.

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    if (name === "className") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

const money = (value) => `$${Number(value).toLocaleString("en-US", { maximumFractionDigits: 2 })}`;

function describeOffer(offer) {
  if (!offer) return null;
  if (offer.n_payments === 1) return `${offer.kind}: ${money(offer.total)} once, by ${offer.first_due}`;
  return `${offer.kind}: ${money(offer.instalment)} ${offer.period} × ${offer.n_payments} (${money(offer.total)}), from ${offer.first_due}`;
}

function qValueBars(card) {
  if (!card.q_values) return element("p", { className: "muted" }, "no values: the call ended, or the policy is a script");
  const values = card.q_values.map((entry) => entry.q);
  const low = Math.min(...values, 0);
  const high = Math.max(...values, 0);
  const span = high - low || 1;
  const list = element("ol", { className: "q-values", "data-testid": "q-values" });
  for (const entry of card.q_values) {
    const marks = [];
    if (entry.action === card.proposed) marks.push("proposed");
    if (entry.action === card.executed) marks.push("executed");
    const bar = element("span", { className: "bar" });
    bar.style.width = `${(100 * (entry.q - low)) / span}%`;
    list.append(
      element(
        "li",
        { className: marks.join(" "), "data-action": entry.action, "data-q": String(entry.q), title: `${entry.action}: ${entry.q}` },
        element("span", { className: "name" }, entry.action.replaceAll("_", " ")),
        element("span", { className: "track" }, bar),
        element("span", { className: "value" }, entry.q.toFixed(2)),
      ),
    );
  }
  return list;
}

// What the agent expects to hear after its action, from the debtor model its policy was trained with (DDQ): the
// three likeliest intents and the chance that the call ends. Absent when the policy carries no such model.
function expectedReply(card) {
  const expected = card.expected_reply;
  if (!expected) return null;
  const percent = (p) => `${Math.round(100 * p)} %`;
  const likeliest = Object.entries(expected.intent).sort((a, b) => b[1] - a[1]).slice(0, 3);
  const parts = likeliest.map(([intent, p]) => `${intent.replaceAll("_", " ")} ${percent(p)}`);
  return element(
    "p",
    { className: "expected", "data-testid": "expected-reply", title: `debtor model of ${expected.model}` },
    "expects to hear ",
    element("strong", {}, parts.join(" · ")),
    ` · call ends ${percent(expected.ends)}`,
  );
}

// The debtor's words cut the agent's previous line short: how long it had played, and the words heard, where known.
function interruptedReply(card) {
  const cut = card.interrupted_reply;
  if (!cut) return null;
  const heard = cut.heard_text ? ` after "${cut.heard_text}"` : "";
  return element(
    "p",
    { className: "interrupted", "data-testid": "interrupted-reply" },
    `spoke over the agent: its line stopped at ${(cut.heard_ms / 1000).toFixed(1)} s${heard}`,
  );
}

function latencies(card) {
  const parts = Object.entries(card.latency_ms || {}).map(([stage, ms]) => `${stage} ${Math.round(ms)} ms`);
  return element("p", { className: "latency", "data-testid": "latency" }, parts.join(" · ") || "-");
}

function turnCard(card) {
  const dst = card.dst;
  const confidence = card.stt_confidence === null ? "" : ` (confidence ${card.stt_confidence.toFixed(2)})`;
  const strategy = card.executed ? card.executed.replaceAll("_", " ") : "closing";
  return element(
    "article",
    { className: `card turn${card.overridden ? " overridden" : ""}`, "data-testid": "turn-card", "data-turn": String(card.turn) },
    element("p", { className: "debtor" }, element("span", { className: "who" }, "Debtor"), element("q", { "data-testid": "heard" }, card.heard || "(hung up)"), confidence),
    interruptedReply(card),
    element(
      "dl",
      { className: "dst" },
      element("dt", {}, "intent"), element("dd", { "data-testid": "intent" }, dst.intent),
      element("dt", {}, "sentiment"), element("dd", {}, dst.sentiment.toFixed(2)),
      element("dt", {}, "amount"), element("dd", { "data-testid": "amount" }, dst.amount === null ? "-" : String(dst.amount)),
      element("dt", {}, "period"), element("dd", {}, dst.period ?? "-"),
      element("dt", {}, "flags"), element("dd", {}, dst.flags.join(", ") || "-"),
    ),
    qValueBars(card),
    expectedReply(card),
    element(
      "p",
      { className: "decision" },
      "strategy ",
      element("strong", { "data-testid": "executed-action" }, strategy),
      card.overridden ? ` (the policy proposed ${card.proposed.replaceAll("_", " ")})` : "",
      element("span", { className: "rule", "data-testid": "guard-rule" }, card.guard_rule ? `guard: ${card.guard_rule.replaceAll("_", " ")}` : ""),
    ),
    card.offer ? element("p", { className: "offer", "data-testid": "offer" }, describeOffer(card.offer)) : null,
    element("p", { className: "agent" }, element("span", { className: "who" }, "Agent"), element("span", { "data-testid": "reply" }, card.reply || "(silence)")),
    latencies(card),
  );
}

function closedCard(card) {
  const reward = card.reward;
  const parts = reward
    ? Object.entries(reward.parts).map(([name, value]) => element("li", {}, `${name.replace("_", " ")} ${value.toFixed(2)}`))
    : [];
  return element(
    "article",
    { className: `card closed ${card.success ? "success" : "failure"}`, "data-testid": "call-outcome", "data-outcome": card.outcome },
    element("h3", {}, `Call ended: ${card.outcome.replace("_", " ")}`),
    element("p", {}, `recovery ${(100 * card.recovery).toFixed(0)} % (${money(card.committed_value)}) · ${card.turns} turns${card.do_not_contact ? " · do not contact" : ""}`),
    card.persona ? element("p", {}, `hidden persona: ${card.persona}`) : null,
    card.reason ? element("p", { className: "muted" }, card.reason) : null,
    reward ? element("p", {}, `return ${reward.return.toFixed(2)}, made of:`) : null,
    reward ? element("ul", { className: "reward" }, ...parts) : null,
  );
}

export function renderCard(card) {
  switch (card.kind) {
    case "opened":
      return element(
        "p",
        { className: "card opened", "data-testid": "call-opened" },
        `Call ${card.call_id}: ${card.debtor_name} owes ${money(card.balance)} to ${card.creditor}, ${card.days_overdue} days overdue · policy ${card.policy_version}`,
        card.persona ? ` · persona ${card.persona}` : "",
      );
    case "agent_line":
      return element("p", { className: "card agent", "data-testid": "agent-line" }, element("span", { className: "who" }, "Agent"), card.text);
    case "turn":
      return turnCard(card);
    case "closed":
      return closedCard(card);
    default:
      return null;
  }
}

export function renderState(strip, state) {
  if (!strip.children.length) {
    for (const name of Object.keys(state)) {
      strip.append(element("span", { className: "feature", "data-feature": name }, element("i"), element("b", {}, name.replaceAll("_", " "))));
    }
  }
  for (const cell of strip.children) {
    const value = state[cell.dataset.feature];
    const previous = Number(cell.dataset.value ?? value);
    cell.dataset.value = String(value);
    cell.title = `${cell.dataset.feature} = ${value}`;
    cell.querySelector("i").style.opacity = String(Math.min(1, Math.abs(value)));
    cell.classList.toggle("negative", value < 0);
    cell.classList.toggle("changed", value !== previous);
  }
}
