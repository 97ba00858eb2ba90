// An MQTT 3.1.1 client over WebSocket for the browser: one session on one WebSocket (subprotocol "mqtt"),
// keepalive, subscribe/unsubscribe, and both directions of the QoS 0/1/2 flows. No reconnect and no offline
// queue: the dashboard shows the connection state and lets the person reconnect, which is what a diagnostic
// page should do. Packets are built and parsed in mqtt-codec.js.
//
// Events (EventTarget):
//   'state'   detail {state, error}   state: disconnected | connecting | connected | disconnecting
//   'message' detail {topic, payload (Uint8Array), qos, retain, dup, receivedAt (Date)}

import {
  CONNACK_REFUSALS, DISCONNECT, MQTTProtocolError, PINGREQ, PacketReader, PacketType,
  decodePacket, encodeAck, encodeConnect, encodePublish, encodeSubscribe, encodeUnsubscribe,
} from './mqtt-codec.js';

/** WebSocket close codes the bridge uses, explained (see the bridge's docs/ARCHITECTURE.md). */
const CLOSE_REASONS = {
  1000: 'closed normally',
  1001: 'the server is going away (bridge shutting down or restarting)',
  1002: 'protocol error (the bridge received something that is not MQTT)',
  1003: 'the bridge accepts only binary frames',
  1006: 'the connection was lost without a close frame',
  1009: 'a packet was larger than the route allows (max_packet_size)',
  1011: 'the bridge lost its connection to the broker',
  1013: 'the broker is unavailable; try again later',
};

export function describeClose(code, reason) {
  const known = CLOSE_REASONS[code] ?? 'closed';
  return `${known} (WebSocket close ${code}${reason ? `: ${reason}` : ''})`;
}

export class MQTTClient extends EventTarget {
  #socket = null;
  #reader = null;
  #state = 'disconnected';
  #opened = false;
  #error = null;
  #url = '';
  #keepAliveTimer = null;
  #pingOutstanding = false;
  #connectTimer = null;
  #connectWaiter = null;
  #nextPacketId = 1;
  /** Outgoing flows waiting for an acknowledgement, by packet id: {kind, resolve, reject}. */
  #pending = new Map();
  /** Incoming QoS 2 packet ids received but not yet released (PUBREL): a DUP resend is not delivered twice. */
  #awaitingRelease = new Set();

  get state() {
    return this.#state;
  }

  /**
   * Opens the WebSocket and sends CONNECT. Resolves with `{sessionPresent}` on an accepted CONNACK; rejects with
   * an Error whose message says why otherwise (refused CONNACK, unreachable URL, timeout).
   */
  connect(url, { clientId, username = '', password = '', keepAlive = 30, cleanSession = true, connectTimeout = 10000 } = {}) {
    if (this.#state !== 'disconnected') return Promise.reject(new Error(`already ${this.#state}`));
    let connectPacket;
    try {
      connectPacket = encodeConnect({ clientId, username, password, keepAlive, cleanSession });
    } catch (error) {
      return Promise.reject(error);
    }
    this.#url = url;
    this.#error = null;
    this.#opened = false;
    this.#reader = new PacketReader();
    this.#setState('connecting');
    return new Promise((resolve, reject) => {
      this.#connectWaiter = { resolve, reject };
      let socket;
      try {
        socket = new WebSocket(url, ['mqtt']);
      } catch (error) {
        this.#fail(new Error(`invalid WebSocket URL '${url}': ${error.message}`));
        return;
      }
      socket.binaryType = 'arraybuffer';
      this.#socket = socket;
      this.#connectTimer = setTimeout(() => this.#fail(new Error(`no CONNACK within ${connectTimeout / 1000} s`)), connectTimeout);
      socket.addEventListener('open', () => {
        this.#opened = true;
        this.#send(connectPacket);
        this.#startKeepAlive(keepAlive);
      });
      socket.addEventListener('message', (event) => this.#receive(event.data));
      socket.addEventListener('close', (event) => this.#closed(event));
      // The browser gives no detail on 'error'; the 'close' event that always follows carries the code.
    });
  }

  /** Subscribes to `filter`; resolves with the granted QoS, rejects when the broker refuses (0x80). */
  subscribe(filter, qos = 0) {
    return this.#request('subscribe', (id) => encodeSubscribe(id, [{ filter, qos }]));
  }

  unsubscribe(filter) {
    return this.#request('unsubscribe', (id) => encodeUnsubscribe(id, [filter]));
  }

  /**
   * Publishes `payload` (a string is sent as UTF-8). Resolves when the QoS flow is complete: at once for QoS 0,
   * on PUBACK for QoS 1, on PUBCOMP for QoS 2.
   */
  publish(topic, payload, { qos = 0, retain = false } = {}) {
    const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
    if (qos === 0) {
      if (this.#state !== 'connected') return Promise.reject(new Error('not connected'));
      try {
        this.#send(encodePublish({ topic, payload: bytes, qos, retain }));
      } catch (error) {
        return Promise.reject(error);
      }
      return Promise.resolve();
    }
    return this.#request(qos === 1 ? 'puback' : 'pubrec', (id) => encodePublish({ topic, payload: bytes, qos, retain, packetId: id }));
  }

  /** Sends DISCONNECT and closes the WebSocket normally. */
  disconnect() {
    if (this.#state === 'disconnected' || this.#state === 'disconnecting') return;
    if (this.#state === 'connected') this.#send(DISCONNECT);
    this.#setState('disconnecting');
    this.#socket?.close(1000, 'client disconnect');
  }

  // ---- Internals ----

  #request(kind, build) {
    if (this.#state !== 'connected') return Promise.reject(new Error('not connected'));
    const id = this.#allocatePacketId();
    let bytes;
    try {
      bytes = build(id);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { kind, resolve, reject });
      this.#send(bytes);
    });
  }

  #allocatePacketId() {
    for (let tries = 0; tries < 65535; tries++) {
      const id = this.#nextPacketId;
      this.#nextPacketId = id === 65535 ? 1 : id + 1;
      if (!this.#pending.has(id)) return id;
    }
    throw new Error('65535 requests are waiting for acknowledgements');
  }

  #send(bytes) {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(bytes);
  }

  #startKeepAlive(seconds) {
    if (!seconds) return;
    // A PINGREQ every keepAlive seconds (so the broker never times us out); if the previous one is still
    // unanswered by then, the connection is dead even if TCP has not noticed.
    this.#keepAliveTimer = setInterval(() => {
      if (this.#pingOutstanding) {
        this.#fail(new Error(`no PINGRESP within the keepalive interval (${seconds} s): connection lost`));
        return;
      }
      this.#pingOutstanding = true;
      this.#send(PINGREQ);
    }, seconds * 1000);
  }

  #receive(data) {
    if (typeof data === 'string') {
      this.#fail(new MQTTProtocolError('received a text frame; MQTT over WebSocket uses binary frames'));
      return;
    }
    try {
      for (const raw of this.#reader.push(new Uint8Array(data))) {
        this.#handle(decodePacket(raw));
      }
    } catch (error) {
      this.#fail(error);
    }
  }

  #handle(packet) {
    switch (packet.type) {
      case PacketType.CONNACK: {
        clearTimeout(this.#connectTimer);
        if (packet.returnCode !== 0) {
          const why = CONNACK_REFUSALS[packet.returnCode] ?? `unknown return code ${packet.returnCode}`;
          this.#fail(new Error(`connection refused by the broker: ${why} (CONNACK return code ${packet.returnCode})`));
          return;
        }
        this.#setState('connected');
        this.#connectWaiter?.resolve({ sessionPresent: packet.sessionPresent });
        this.#connectWaiter = null;
        return;
      }
      case PacketType.PINGRESP:
        this.#pingOutstanding = false;
        return;
      case PacketType.PUBLISH:
        this.#incomingPublish(packet);
        return;
      case PacketType.PUBREL:
        this.#awaitingRelease.delete(packet.packetId);
        this.#send(encodeAck(PacketType.PUBCOMP, packet.packetId));
        return;
      case PacketType.PUBREC:
        // Our QoS 2 publish reached the broker: release it, then wait for PUBCOMP under the same id.
        if (this.#pending.get(packet.packetId)?.kind === 'pubrec') this.#pending.get(packet.packetId).kind = 'pubcomp';
        this.#send(encodeAck(PacketType.PUBREL, packet.packetId));
        return;
      case PacketType.PUBACK:
        this.#settle(packet.packetId, 'puback', () => undefined);
        return;
      case PacketType.PUBCOMP:
        this.#settle(packet.packetId, 'pubcomp', () => undefined);
        return;
      case PacketType.SUBACK:
        this.#settle(packet.packetId, 'subscribe', () => {
          const code = packet.returnCodes[0];
          if (code === 0x80) throw new Error('the broker refused the subscription (SUBACK 0x80: not allowed, or an invalid filter)');
          return code;
        });
        return;
      case PacketType.UNSUBACK:
        this.#settle(packet.packetId, 'unsubscribe', () => undefined);
        return;
    }
  }

  #incomingPublish(packet) {
    let deliver = true;
    if (packet.qos === 1) {
      this.#send(encodeAck(PacketType.PUBACK, packet.packetId));
    } else if (packet.qos === 2) {
      // Deliver on first receipt; a DUP resend of an id not yet released is acknowledged again, not shown again.
      deliver = !this.#awaitingRelease.has(packet.packetId);
      this.#awaitingRelease.add(packet.packetId);
      this.#send(encodeAck(PacketType.PUBREC, packet.packetId));
    }
    if (!deliver) return;
    const { topic, payload, qos, retain, dup } = packet;
    this.dispatchEvent(new CustomEvent('message', { detail: { topic, payload, qos, retain, dup, receivedAt: new Date() } }));
  }

  /** Resolves (or rejects) the outgoing flow `id` when it is waiting for `kind`; anything else is ignored. */
  #settle(id, kind, result) {
    const entry = this.#pending.get(id);
    if (!entry || entry.kind !== kind) return;
    this.#pending.delete(id);
    try {
      entry.resolve(result());
    } catch (error) {
      entry.reject(error);
    }
  }

  /** Ends the session because of `error`; the close event finishes the clean-up. */
  #fail(error) {
    this.#error ??= error;
    if (this.#socket && this.#socket.readyState <= WebSocket.OPEN) {
      // 4000: an application-defined code (RFC 6455 §7.4.2) for "protocol error", which browsers may not send as 1002.
      this.#socket.close(error instanceof MQTTProtocolError ? 4000 : 1000, error instanceof MQTTProtocolError ? 'MQTT protocol error' : 'client closed');
    } else {
      this.#finish();
    }
  }

  #closed(event) {
    if (!this.#error && this.#state !== 'disconnecting') {
      if (!this.#opened) {
        this.#error = new Error(
          `could not open ${this.#url}: the browser gives no details; check the address, that the bridge is running, ` +
          'and (for wss://) that the browser trusts its certificate — open the https:// address of the bridge once and accept it');
      } else if (this.#state === 'connecting') {
        this.#error = new Error(`the connection closed before CONNACK: ${describeClose(event.code, event.reason)}`);
      } else {
        this.#error = new Error(`connection lost: ${describeClose(event.code, event.reason)}`);
      }
    }
    this.#finish();
  }

  #finish() {
    clearInterval(this.#keepAliveTimer);
    clearTimeout(this.#connectTimer);
    this.#keepAliveTimer = null;
    this.#pingOutstanding = false;
    this.#socket = null;
    const error = this.#error;
    const closedError = error ?? new Error('disconnected');
    this.#connectWaiter?.reject(closedError);
    this.#connectWaiter = null;
    for (const entry of this.#pending.values()) entry.reject(closedError);
    this.#pending.clear();
    this.#awaitingRelease.clear();
    if (this.#state !== 'disconnected') this.#setState('disconnected', error);
  }

  #setState(state, error = null) {
    this.#state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, error } }));
  }
}
