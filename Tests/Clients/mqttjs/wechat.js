'use strict'
// A WeChat-like runtime for mqtt.js's own mini-program transport (mqtt/lib/connect/wx.js), so the code a
// mini-program runs can be driven from Node against the real bridge.
//
// What is imitated, and why:
// - `wx.connectSocket` sends no Sec-WebSocket-Protocol header, whatever `protocols` asks for: many WeChat base
//   libraries drop it, which is why the bridge's miniprogram route exists. A 101 answer that carries a subprotocol
//   fails the handshake, as it does in WeChat (the `ws` library refuses an answer to a question it did not ask).
// - `SocketTask.send({data})` accepts a string or an ArrayBuffer and sends the whole ArrayBuffer, as WeChat does.
//   Anything else fails with WeChat's parameter error.
// - Binary messages arrive as exact ArrayBuffers; callbacks run asynchronously; `close` on a socket that is already
//   closed fails with "closeSocket:fail WebSocket is not connected" (the message mqtt.js issue #1112 reports).
// - No Buffer pool: a mini-program's mqtt.js bundle uses the `buffer` package, where every Buffer owns its
//   ArrayBuffer unless it is a view (subarray). Node pools small Buffers in 8 KiB slabs, which would make `.buffer`
//   far larger than in WeChat; `Buffer.poolSize = 0` gives the mini-program's memory model.
// - Trust: the test CA (WeChat trusts the system store); host names are verified as usual.

const fs = require('fs')
const path = require('path')
const vm = require('vm')
const { createRequire } = require('module')
const WebSocket = require('ws')

Buffer.poolSize = 0

// Fixes from upstream that a mini-program developer applies to 4.3.7's wx.js, by the name the tests use.
const WX_FIXES = {
  // mqttjs/MQTT.js PR #1506 (closed unmerged): send only the chunk's own bytes, not its whole backing ArrayBuffer.
  // mqtt-packet writes variable byte integers as subarrays of 4-byte buffers, so without it a one-byte remaining
  // length goes out as four bytes and the packet is malformed.
  'send-exact-bytes': {
    find: 'data: chunk.buffer,',
    replace: 'data: chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength),'
  },
  // mqttjs/MQTT.js PR #1664 (in 5.0.3): emit 'close' when the socket closes. wx.js replaces the stream's _destroy,
  // which is what would have emitted it, so without this the client never notices a server close (issue #1180).
  'emit-close': {
    find: 'socketTask.onClose(function () {\n',
    replace: "socketTask.onClose(function () {\n    stream.emit('close')\n"
  }
}

// mqtt.js's wx.js as installed, with the named fixes applied. Fails if the installed file does not contain the code
// a fix replaces (a newer mqtt.js: the tests and the README's table need a look).
function loadWxTransport (fixes) {
  const file = require.resolve('mqtt/lib/connect/wx.js')
  let source = fs.readFileSync(file, 'utf8')
  for (const name of fixes) {
    const fix = WX_FIXES[name]
    if (!fix) throw new Error(`unknown wx.js fix '${name}' (known: ${Object.keys(WX_FIXES).join(', ')})`)
    if (!source.includes(fix.find)) throw new Error(`wx.js fix '${name}': '${fix.find.trim()}' not found in ${file}`)
    source = source.replace(fix.find, fix.replace)
  }
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`
  const compiled = vm.runInThisContext(wrapped, { filename: file })
  const module = { exports: {} }
  compiled(module.exports, createRequire(file), module, file, path.dirname(file))
  return module.exports
}

// Installs `globalThis.wx` with a `connectSocket` that behaves like WeChat's (see the top of this file).
// `trace(event)` receives what the socket did, for the test's output.
function installWx ({ ca, trace }) {
  const later = (fn, ...args) => { if (typeof fn === 'function') setImmediate(fn, ...args) }
  globalThis.wx = {
    connectSocket ({ url, protocols }) {
      trace({ event: 'wx-connect', url, protocolsAsked: protocols || [] })
      const socket = new WebSocket(url, [], { ca, perMessageDeflate: false })
      const handlers = { open: [], message: [], close: [], error: [] }
      const emit = (kind, value) => handlers[kind].forEach((handler) => handler(value))
      let closed = false
      socket.on('open', () => emit('open', {}))
      socket.on('message', (data, isBinary) => {
        emit('message', { data: isBinary ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : data.toString('utf8') })
      })
      socket.on('error', (error) => emit('error', { errMsg: error.message }))
      socket.on('close', (code, reason) => {
        closed = true
        trace({ event: 'wx-close', code, reason: reason.toString('utf8') })
        emit('close', { code, reason: reason.toString('utf8') })
      })
      return {
        send ({ data, success, fail, complete }) {
          const isBinary = data instanceof ArrayBuffer
          if (!isBinary && typeof data !== 'string') {
            later(fail, { errMsg: 'sendSocketMessage:fail parameter error: data should be String or ArrayBuffer' })
            return later(complete)
          }
          if (closed || socket.readyState !== WebSocket.OPEN) {
            later(fail, { errMsg: 'sendSocketMessage:fail WebSocket is not connected' })
            return later(complete)
          }
          socket.send(isBinary ? Buffer.from(data) : data, { binary: isBinary }, (error) => {
            if (error) later(fail, { errMsg: `sendSocketMessage:fail ${error.message}` })
            else later(success, { errMsg: 'sendSocketMessage:ok' })
            later(complete)
          })
        },
        close ({ code, reason, success, fail, complete } = {}) {
          if (closed || socket.readyState === WebSocket.CLOSING) {
            later(fail, { errMsg: 'closeSocket:fail WebSocket is not connected' })
          } else {
            socket.close(code || 1000, reason)
            later(success, { errMsg: 'closeSocket:ok' })
          }
          later(complete)
        },
        onOpen (handler) { handlers.open.push(handler) },
        onMessage (handler) { handlers.message.push(handler) },
        onClose (handler) { handlers.close.push(handler) },
        onError (handler) { handlers.error.push(handler) }
      }
    }
  }
}

module.exports = { loadWxTransport, installWx }
