// The dashboard page: forms → MQTTClient, events → DOM. Everything the page shows is built with textContent
// (never innerHTML), so topics and payloads from the broker cannot inject markup.
//
// Query parameters preset the forms (the browser test uses them):
//   url       WebSocket URL; default: the browser route on this host (wss:// when the page came over https)
//   topic     topic filter to subscribe to        qos       its QoS (0, 1, 2)
//   clientId  client id (default: dashboard-<random>)   username   user name   keepalive   seconds
//   connect   1 or true: connect at once, and subscribe to `topic` when it is given

import { MQTTClient } from './mqtt-client.js';
import { payloadHex, payloadText } from './mqtt-codec.js';

const MAX_MESSAGES = 500;
const MAX_SHOWN_BYTES = 4096;

const $ = (id) => document.getElementById(id);
const client = new MQTTClient();
const params = new URLSearchParams(location.search);
let received = 0;

/** The bridge's browser route on the host this page came from. */
function defaultURL() {
  if (!location.host) return 'wss://localhost:8443/mqtt';  // opened as a file: the `make run` address
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/mqtt`;
}

function randomClientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return 'dashboard-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function qosParam(name) {
  const value = Number(params.get(name));
  return [0, 1, 2].includes(value) ? value : 0;
}

function showError(message) {
  const element = $('error');
  element.textContent = message ?? '';
  element.hidden = !message;
}

const STATE_TEXT = {
  disconnected: 'Disconnected',
  connecting: 'Connecting…',
  connected: 'Connected',
  disconnecting: 'Disconnecting…',
};

client.addEventListener('state', (event) => {
  const { state, error } = event.detail;
  const label = $('state');
  label.dataset.state = state;
  label.textContent = state === 'connected' ? `Connected to ${$('url').value} as ${$('client-id').value}` : STATE_TEXT[state];
  const connected = state === 'connected';
  $('connect').disabled = state !== 'disconnected';
  $('disconnect').disabled = state === 'disconnected' || state === 'disconnecting';
  $('subscribe-fields').disabled = !connected;
  $('publish-fields').disabled = !connected;
  for (const input of $('connect-form').querySelectorAll('input')) input.disabled = state !== 'disconnected';
  if (error) showError(error.message);
  if (state === 'disconnected') {
    subscriptions.clear();  // a clean session: the broker forgot them too
    renderSubscriptions();
  }
});

client.addEventListener('message', (event) => addMessage(event.detail));

// ---- Connection ----

async function connect() {
  showError(null);
  try {
    await client.connect($('url').value.trim(), {
      clientId: $('client-id').value.trim(),
      username: $('username').value,
      password: $('password').value,
      keepAlive: Number($('keepalive').value) || 0,
    });
  } catch (error) {
    showError(error.message);
    return false;
  }
  return true;
}

$('connect-form').addEventListener('submit', (event) => {
  event.preventDefault();
  connect();
});
$('disconnect').addEventListener('click', () => client.disconnect());

// ---- Subscriptions ----

const subscriptions = new Map();  // filter → granted QoS

function renderSubscriptions() {
  const list = $('subscriptions');
  list.replaceChildren();
  if (subscriptions.size === 0) {
    const empty = document.createElement('li');
    empty.className = 'empty';
    empty.textContent = 'None yet.';
    list.append(empty);
    return;
  }
  for (const [filter, granted] of subscriptions) {
    const item = document.createElement('li');
    item.dataset.filter = filter;
    item.dataset.granted = String(granted);
    const name = document.createElement('code');
    name.textContent = filter;
    const qos = document.createElement('span');
    qos.className = 'hint';
    qos.textContent = ` QoS ${granted} `;
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = 'Unsubscribe';
    remove.setAttribute('aria-label', `Unsubscribe from ${filter}`);
    remove.addEventListener('click', async () => {
      try {
        await client.unsubscribe(filter);
        subscriptions.delete(filter);
        renderSubscriptions();
      } catch (error) {
        showError(`unsubscribe ${filter}: ${error.message}`);
      }
    });
    item.append(name, qos, remove);
    list.append(item);
  }
}

async function subscribe(filter, qos) {
  showError(null);
  try {
    const granted = await client.subscribe(filter, qos);
    subscriptions.set(filter, granted);
    renderSubscriptions();
  } catch (error) {
    showError(`subscribe ${filter}: ${error.message}`);
  }
}

$('subscribe-form').addEventListener('submit', (event) => {
  event.preventDefault();
  subscribe($('topic-filter').value.trim(), Number($('subscribe-qos').value));
});

// ---- Publishing ----

$('publish-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  showError(null);
  const qos = Number($('publish-qos').value);
  const result = $('publish-result');
  result.textContent = 'publishing…';
  try {
    await client.publish($('publish-topic').value.trim(), $('publish-payload').value, { qos, retain: $('publish-retain').checked });
    result.textContent = qos === 0 ? `sent (QoS 0) at ${timeOf(new Date())}` : `acknowledged by the broker (QoS ${qos}) at ${timeOf(new Date())}`;
  } catch (error) {
    result.textContent = '';
    showError(`publish: ${error.message}`);
  }
});

// ---- Messages ----

function timeOf(date) {
  return date.toLocaleTimeString(undefined, { hour12: false }) + '.' + String(date.getMilliseconds()).padStart(3, '0');
}

function addMessage({ topic, payload, qos, retain, dup, receivedAt }) {
  received += 1;
  const item = document.createElement('li');
  item.className = 'message';
  item.dataset.topic = topic;
  item.dataset.qos = String(qos);
  item.dataset.retained = String(retain);

  const meta = document.createElement('p');
  meta.className = 'meta';
  const time = document.createElement('time');
  time.dateTime = receivedAt.toISOString();
  time.textContent = timeOf(receivedAt);
  const topicElement = document.createElement('code');
  topicElement.className = 'topic';
  topicElement.textContent = topic;
  meta.append(time, ' ', topicElement, ' ', badge(`QoS ${qos}`));
  if (retain) meta.append(' ', badge('retained', 'retained'));
  if (dup) meta.append(' ', badge('duplicate'));

  const body = document.createElement('pre');
  body.className = 'payload';
  const asText = payloadText(payload);
  if (asText !== null) {
    body.textContent = asText.length > MAX_SHOWN_BYTES ? asText.slice(0, MAX_SHOWN_BYTES) + '…' : asText;
    meta.append(' ', badge(`${payload.length} bytes`));
  } else {
    body.classList.add('hex');
    body.textContent = payloadHex(payload, MAX_SHOWN_BYTES) + (payload.length > MAX_SHOWN_BYTES ? ' …' : '');
    meta.append(' ', badge(`${payload.length} bytes, hex (not UTF-8)`, 'binary'));
  }
  item.append(meta, body);

  const list = $('messages');
  list.prepend(item);
  while (list.children.length > MAX_MESSAGES) list.lastElementChild.remove();
  $('message-count').textContent = `(${received}${received > MAX_MESSAGES ? `, last ${MAX_MESSAGES} shown` : ''})`;
  $('no-messages').hidden = true;
}

function badge(text, kind = '') {
  const element = document.createElement('span');
  element.className = `badge ${kind}`.trim();
  element.textContent = text;
  return element;
}

$('clear').addEventListener('click', () => {
  $('messages').replaceChildren();
  received = 0;
  $('message-count').textContent = '(0)';
  $('no-messages').hidden = false;
});

// ---- Start ----

$('url').value = params.get('url') ?? defaultURL();
$('client-id').value = params.get('clientId') ?? randomClientId();
$('username').value = params.get('username') ?? '';
if (params.has('keepalive')) $('keepalive').value = params.get('keepalive');
if (params.has('topic')) $('topic-filter').value = params.get('topic');
$('subscribe-qos').value = String(qosParam('qos'));

if (['1', 'true'].includes(params.get('connect'))) {
  connect().then((connected) => {
    if (connected && params.has('topic')) subscribe($('topic-filter').value, qosParam('qos'));
  });
}
