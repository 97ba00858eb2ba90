// MQTT 3.1.1 control packets as bytes: the encoders a client needs, a reader that cuts a byte stream into
// packets, and a decoder for what a broker sends. No I/O here; mqtt-client.js runs the session.
//
// Written for this project (no library, no CDN) so the dashboard works offline and its whole behaviour is
// readable in two small files. Reference: MQTT Version 3.1.1 (OASIS), sections 2 (packet format) and 3 (packets).

export const PacketType = Object.freeze({
  CONNECT: 1, CONNACK: 2, PUBLISH: 3, PUBACK: 4, PUBREC: 5, PUBREL: 6, PUBCOMP: 7,
  SUBSCRIBE: 8, SUBACK: 9, UNSUBSCRIBE: 10, UNSUBACK: 11, PINGREQ: 12, PINGRESP: 13, DISCONNECT: 14,
});

/** The largest Remaining Length MQTT can encode (4 bytes of variable byte integer). */
export const MAX_REMAINING_LENGTH = 268435455;

/** A broker or caller broke the protocol; the session must end. */
export class MQTTProtocolError extends Error {
  constructor(message) {
    super(message);
    this.name = 'MQTTProtocolError';
  }
}

const utf8Encoder = new TextEncoder();
const strictUTF8 = new TextDecoder('utf-8', { fatal: true });

/** CONNACK return codes (3.1.1 §3.2.2.3), as sentences for people. */
export const CONNACK_REFUSALS = Object.freeze({
  1: 'unacceptable protocol version (the broker does not speak MQTT 3.1.1)',
  2: 'client identifier rejected (try another client id)',
  3: 'server unavailable (the bridge could not reach the broker, or the broker is not accepting connections)',
  4: 'bad user name or password',
  5: 'not authorized',
});

// ---- Encoding ----

function remainingLength(length) {
  if (length > MAX_REMAINING_LENGTH) throw new MQTTProtocolError(`packet too large (${length} bytes)`);
  const bytes = [];
  do {
    let digit = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) digit |= 0x80;
    bytes.push(digit);
  } while (length > 0);
  return bytes;
}

/** A UTF-8 string with its two-byte length (§1.5.3). */
function lengthPrefixed(bytes, what) {
  if (bytes.length > 65535) throw new MQTTProtocolError(`${what} is longer than 65535 bytes`);
  const out = new Uint8Array(2 + bytes.length);
  out[0] = bytes.length >> 8;
  out[1] = bytes.length & 0xff;
  out.set(bytes, 2);
  return out;
}

function text(value, what) {
  return lengthPrefixed(utf8Encoder.encode(value), what);
}

function uint16(value) {
  return Uint8Array.of(value >> 8, value & 0xff);
}

/** Fixed header (first byte + Remaining Length) followed by `parts`. */
function packet(firstByte, parts) {
  const bodyLength = parts.reduce((sum, part) => sum + part.length, 0);
  const header = [firstByte, ...remainingLength(bodyLength)];
  const out = new Uint8Array(header.length + bodyLength);
  out.set(header, 0);
  let offset = header.length;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function checkQoS(qos) {
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new MQTTProtocolError(`QoS must be 0, 1 or 2, not ${qos}`);
}

function checkTopicName(topic) {
  if (topic.length === 0) throw new MQTTProtocolError('the topic must not be empty');
  if (/[+#]/.test(topic)) throw new MQTTProtocolError('a topic to publish to must not contain the wildcards + or #');
}

/** Checks a subscription filter's wildcards (§4.7.1): `#` last and alone in its level, `+` alone in its level. */
export function checkTopicFilter(filter) {
  if (filter.length === 0) throw new MQTTProtocolError('the topic filter must not be empty');
  const levels = filter.split('/');
  levels.forEach((level, index) => {
    if (level.includes('#') && (level !== '#' || index !== levels.length - 1)) {
      throw new MQTTProtocolError(`'#' must be the last level on its own (e.g. sensors/#), in '${filter}'`);
    }
    if (level.includes('+') && level !== '+') {
      throw new MQTTProtocolError(`'+' must be a level on its own (e.g. sensors/+/temperature), in '${filter}'`);
    }
  });
}

/**
 * CONNECT (§3.1). `keepAlive` in seconds (0 switches it off). In 3.1.1 a password needs a user name.
 */
export function encodeConnect({ clientId, username = '', password = '', keepAlive = 30, cleanSession = true }) {
  if (password && !username) throw new MQTTProtocolError('MQTT 3.1.1 sends a password only together with a user name');
  let flags = cleanSession ? 0x02 : 0;
  const payload = [text(clientId, 'the client id')];
  if (username) {
    flags |= 0x80;
    payload.push(text(username, 'the user name'));
  }
  if (password) {
    flags |= 0x40;
    payload.push(text(password, 'the password'));
  }
  const variableHeader = [text('MQTT', 'protocol name'), Uint8Array.of(4, flags), uint16(keepAlive)];
  return packet(0x10, [...variableHeader, ...payload]);
}

/** PUBLISH (§3.3). `payload` is a Uint8Array; `packetId` is required for QoS 1 and 2. */
export function encodePublish({ topic, payload, qos = 0, retain = false, dup = false, packetId }) {
  checkQoS(qos);
  checkTopicName(topic);
  const firstByte = 0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 0x01 : 0);
  const parts = [text(topic, 'the topic')];
  if (qos > 0) parts.push(uint16(packetId));
  parts.push(payload);
  return packet(firstByte, parts);
}

/** SUBSCRIBE (§3.8) with one or more `{filter, qos}`. */
export function encodeSubscribe(packetId, subscriptions) {
  const parts = [uint16(packetId)];
  for (const { filter, qos } of subscriptions) {
    checkQoS(qos);
    checkTopicFilter(filter);
    parts.push(text(filter, 'the topic filter'), Uint8Array.of(qos));
  }
  return packet(0x82, parts);
}

/** UNSUBSCRIBE (§3.10). */
export function encodeUnsubscribe(packetId, filters) {
  return packet(0xa2, [uint16(packetId), ...filters.map((filter) => text(filter, 'the topic filter'))]);
}

/** PUBACK, PUBREC, PUBREL or PUBCOMP: a packet id only. PUBREL's fixed-header flags are 0010 (§3.6.1). */
export function encodeAck(type, packetId) {
  return packet((type << 4) | (type === PacketType.PUBREL ? 0x02 : 0), [uint16(packetId)]);
}

export const PINGREQ = Uint8Array.of(0xc0, 0x00);
export const DISCONNECT = Uint8Array.of(0xe0, 0x00);

// ---- Decoding ----

/**
 * Cuts a byte stream into whole control packets. A WebSocket message may hold part of a packet or several
 * (MQTT over WebSocket, §6), so bytes are buffered until a packet is complete.
 */
export class PacketReader {
  constructor(maxPacketSize = 16 * 1024 * 1024) {
    this.buffer = new Uint8Array(0);
    this.maxPacketSize = maxPacketSize;
  }

  /** Appends `bytes` and returns every packet now complete, as `{type, flags, body}`. */
  push(bytes) {
    if (this.buffer.length === 0) {
      this.buffer = bytes;
    } else {
      const joined = new Uint8Array(this.buffer.length + bytes.length);
      joined.set(this.buffer, 0);
      joined.set(bytes, this.buffer.length);
      this.buffer = joined;
    }
    const packets = [];
    for (;;) {
      const next = this.#nextPacket();
      if (!next) break;
      packets.push(next);
    }
    return packets;
  }

  #nextPacket() {
    const buffer = this.buffer;
    if (buffer.length < 2) return null;
    let length = 0;
    let multiplier = 1;
    let index = 1;
    for (;;) {
      if (index >= buffer.length) return null;
      if (index > 4) throw new MQTTProtocolError('malformed Remaining Length (more than 4 bytes)');
      const byte = buffer[index++];
      length += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      if ((byte & 0x80) === 0) break;
    }
    if (index + length > this.maxPacketSize) throw new MQTTProtocolError(`packet of ${index + length} bytes is larger than the limit of ${this.maxPacketSize}`);
    if (buffer.length < index + length) return null;
    const body = buffer.subarray(index, index + length);
    this.buffer = buffer.subarray(index + length);
    return { type: buffer[0] >> 4, flags: buffer[0] & 0x0f, body };
  }
}

function readUint16(body, offset, what) {
  if (offset + 2 > body.length) throw new MQTTProtocolError(`${what}: packet too short`);
  return (body[offset] << 8) | body[offset + 1];
}

/** What a broker may send to a client, decoded. Anything else is a protocol error (§4.8). */
export function decodePacket({ type, flags, body }) {
  switch (type) {
    case PacketType.CONNACK:
      if (body.length !== 2) throw new MQTTProtocolError('CONNACK must have 2 bytes');
      return { type, sessionPresent: (body[0] & 0x01) === 1, returnCode: body[1] };
    case PacketType.PUBLISH: {
      const qos = (flags >> 1) & 0x03;
      if (qos === 3) throw new MQTTProtocolError('PUBLISH with QoS 3');
      const topicLength = readUint16(body, 0, 'PUBLISH topic');
      if (2 + topicLength > body.length) throw new MQTTProtocolError('PUBLISH topic longer than the packet');
      let topic;
      try {
        topic = strictUTF8.decode(body.subarray(2, 2 + topicLength));
      } catch {
        throw new MQTTProtocolError('PUBLISH topic is not valid UTF-8');
      }
      let offset = 2 + topicLength;
      let packetId;
      if (qos > 0) {
        packetId = readUint16(body, offset, 'PUBLISH packet id');
        offset += 2;
      }
      return {
        type, topic, qos, packetId, dup: (flags & 0x08) !== 0, retain: (flags & 0x01) !== 0,
        payload: body.slice(offset),
      };
    }
    case PacketType.PUBACK:
    case PacketType.PUBREC:
    case PacketType.PUBREL:
    case PacketType.PUBCOMP:
    case PacketType.UNSUBACK:
      return { type, packetId: readUint16(body, 0, 'acknowledgement') };
    case PacketType.SUBACK:
      return { type, packetId: readUint16(body, 0, 'SUBACK'), returnCodes: Array.from(body.subarray(2)) };
    case PacketType.PINGRESP:
      return { type };
    default:
      throw new MQTTProtocolError(`a broker must not send packet type ${type}`);
  }
}

// ---- Payload display ----

/** The payload as text when it is valid UTF-8, else `null`. */
export function payloadText(payload) {
  try {
    return strictUTF8.decode(payload);
  } catch {
    return null;
  }
}

/** `48 65 6c 6c 6f`, at most `limit` bytes. */
export function payloadHex(payload, limit = 4096) {
  const shown = payload.subarray(0, limit);
  return Array.from(shown, (byte) => byte.toString(16).padStart(2, '0')).join(' ');
}
