'use strict'
// One mqtt.js client session against the bridge, driven by Tests/IntegrationTests/MQTTJSClientTests.swift.
//
// Usage: node scenario.js '<options as JSON>'   (NODE_PATH must include Debian's /usr/share/nodejs)
// Output: one JSON object per line on stdout ({"event": ...}); the Swift test reads them and makes the assertions.
// Exit: 0 when the scenario finished, 1 on an error, 2 when `deadlineMs` passed first. A scenario without
// `expectMessages` ("hold") runs until the test ends it (a dropped client, for the will).
//
// Options:
//   transport        "ws": mqtt.js's Node WebSocket transport, which always offers the `mqtt` subprotocol
//                    "wechat": mqtt.js's mini-program transport (lib/connect/wx.js) in a WeChat-like runtime
//                    (wechat.js), which offers none; `wxFixes` names upstream fixes to apply to 4.3.7's wx.js
//   host, port, path, ca      where the bridge is and the CA file to trust (no certificate checks are turned off)
//   protocolVersion  4 (MQTT 3.1.1) or 5
//   clientId, clean, keepalive, reconnectPeriod (ms; 0 = no automatic reconnect), will {topic, payload, qos}
//   username, password   sent in the CONNECT (a token for the bridge's edge authentication, for instance)
//   subscribe {filter, qos}   subscribed once, after the first CONNACK (mqtt.js resubscribes by itself afterwards)
//   publish [{topic, qos, text | file}]   published one after another after the first SUBACK
//   expectMessages   finish (DISCONNECT, exit 0) once this many messages arrived and every publish completed
//   payloadDir       every received payload is written there (<n>.bin) so the test compares bytes itself
//   deadlineMs       exit 2 after this long

const fs = require('fs')
const path = require('path')

const options = JSON.parse(process.argv[2] || '{}')
// Loaded before mqtt.js, which allocates Buffers as it loads: the WeChat-like runtime has no Buffer pool (wechat.js).
const wechat = options.transport === 'wechat' ? require('./wechat') : null
const mqtt = require('mqtt')
const MqttClient = require('mqtt/lib/client')

const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n')
const fail = (message) => { emit({ event: 'error', message }); process.exit(1) }

setTimeout(() => { emit({ event: 'deadline', afterMs: options.deadlineMs }); process.exit(2) }, options.deadlineMs || 20000).unref()
process.on('uncaughtException', (error) => fail(`uncaught: ${error.stack || error}`))
// Node runs out of work only when the connection is gone for good and no reconnect is coming: not a finish.
process.on('beforeExit', () => fail('nothing left to wait for before the scenario finished (connection closed for good?)'))

const version = require('mqtt/package.json').version
const clientOptions = {
  protocolVersion: options.protocolVersion || 4,
  clientId: options.clientId,
  clean: options.clean !== false,
  keepalive: options.keepalive || 30,
  reconnectPeriod: options.reconnectPeriod || 0,
  connectTimeout: 10000,
  will: options.will,
  username: options.username,
  password: options.password
}

function connectWebSocket () {
  const url = `wss://${options.host}:${options.port}${options.path}`
  return mqtt.connect(url, { ...clientOptions, ca: fs.readFileSync(options.ca) })
}

// What mqtt.connect('wxs://…') does in a mini-program bundle: a client over the wx stream builder. (In Node, and in
// 4.2.2–4.3.7's browserify bundle, connect() does not register `wxs` at all: mqtt.js issue #1702.)
function connectWeChat () {
  wechat.installWx({
    ca: fs.readFileSync(options.ca),
    trace (event) {
      emit(event)
      if (event.event === 'wx-close') reportClientStateLater()
    }
  })
  const buildStream = wechat.loadWxTransport(options.wxFixes || [])
  const streamOptions = { ...clientOptions, protocol: 'wxs', hostname: options.host, port: options.port, path: options.path }
  return new MqttClient((client) => buildStream(client, streamOptions), streamOptions)
}

emit({ event: 'start', mqttjs: version, node: process.version, transport: options.transport, wxFixes: options.wxFixes || [] })
const client = wechat ? connectWeChat() : connectWebSocket()

let connects = 0
let closes = 0
let received = 0
let publishing = false
let finishing = false
let published = 0
const publishes = options.publish || []

client.on('connect', (connack) => {
  connects += 1
  emit({ event: 'connected', count: connects, sessionPresent: connack.sessionPresent, returnCode: connack.returnCode ?? connack.reasonCode })
  if (connects === 1 && options.subscribe) {
    client.subscribe(options.subscribe.filter, { qos: options.subscribe.qos }, (error) => { if (error) fail(`subscribe: ${error.message}`) })
  } else if (connects === 1) {
    startPublishing()
  }
})

// Every SUBACK, the resubscription after a reconnect included (that one has no callback of its own).
client.on('packetreceive', (packet) => {
  if (packet.cmd !== 'suback') return
  emit({ event: 'subscribed', count: connects, granted: packet.granted })
  startPublishing()
})

client.on('message', (topic, payload, packet) => {
  received += 1
  const message = { event: 'message', topic, qos: packet.qos, retain: packet.retain, length: payload.length }
  if (options.payloadDir) {
    message.file = path.join(options.payloadDir, `${received}.bin`)
    fs.writeFileSync(message.file, payload)
  }
  if (payload.length <= 256) message.text = payload.toString('utf8')
  emit(message)
  finishIfDone()
})

client.on('close', () => { closes += 1; emit({ event: 'close', count: closes }) })
client.on('offline', () => emit({ event: 'offline' }))
client.on('reconnect', () => emit({ event: 'reconnect' }))
client.on('error', (error) => emit({ event: 'client-error', message: error.message, errorCode: error.code }))

// After the server closed a WeChat socket: does the client know? Reported once wx.js's close handling had every
// chance to run (it closes the task on a timer, and WeChat answers on the next turn; two timer turns later it has
// settled either way). mqtt.js marks itself disconnected and emits 'close' only when the stream emits 'close'.
function reportClientStateLater () {
  setTimeout(() => setTimeout(() => {
    emit({ event: 'state-after-socket-close', connected: client.connected, closeEvents: closes })
  }, 20), 20)
}

function startPublishing () {
  if (publishing) return
  publishing = true
  publishNext()
}

function publishNext () {
  if (published === publishes.length) return finishIfDone()
  const item = publishes[published]
  const payload = item.file ? fs.readFileSync(item.file) : Buffer.from(item.text || '', 'utf8')
  client.publish(item.topic, payload, { qos: item.qos }, (error) => {
    if (error) fail(`publish ${item.topic}: ${error.message}`)
    published += 1
    emit({ event: 'published', topic: item.topic, qos: item.qos, length: payload.length })
    publishNext()
  })
}

function finishIfDone () {
  if (finishing || options.expectMessages === undefined) return
  if (received < options.expectMessages || published < publishes.length) return
  finishing = true
  client.end(false, () => { emit({ event: 'done', received, published }); process.exit(0) })
}
