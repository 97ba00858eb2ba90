// Connects to the bridge's mini-program route with mqtt.js over wxs://, subscribes, and lists pushed messages.
// mqtt.js is not in this repository: put its browser bundle at utils/mqtt.min.js (see ../../README.md).
const mqtt = require('../../utils/mqtt.min.js')
const config = require('../../config.js')

const MAX_MESSAGES = 50
const STATE_TEXT = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  offline: 'Offline (will retry)',
  closed: 'Closed',
}

Page({
  data: {
    state: 'connecting',
    stateText: STATE_TEXT.connecting,
    error: '',
    url: '',
    topic: config.topic,
    messages: [],
  },

  onLoad() {
    // wxs:// selects mqtt.js's WeChat transport (wx.connectSocket); the URL's port is left out for 443.
    const url = `wxs://${config.host}${config.path}`
    this.setData({ url })
    this.client = mqtt.connect(url, {
      clientId: 'wechat-' + Math.random().toString(16).slice(2, 10),
      username: config.username || undefined,
      password: config.password || undefined,
      protocolVersion: 4, // MQTT 3.1.1
      keepalive: 30,
      clean: true,
      connectTimeout: 10 * 1000,
      reconnectPeriod: 5 * 1000,
    })
    this.client.on('connect', () => {
      this.setState('connected')
      this.setData({ error: '' })
      this.client.subscribe(config.topic, { qos: 1 }, (error, granted) => {
        if (error) this.setData({ error: `subscribe failed: ${error.message}` })
        else if (granted && granted[0] && granted[0].qos === 128) this.setData({ error: 'the broker refused the subscription' })
      })
    })
    this.client.on('message', (topic, payload, packet) => this.addMessage(topic, payload, packet))
    this.client.on('reconnect', () => this.setState('reconnecting'))
    this.client.on('offline', () => this.setState('offline'))
    this.client.on('close', () => {
      if (this.data.state === 'connected') this.setState('closed')
    })
    // A refused CONNACK (e.g. bad user name or password, or "server unavailable" when the bridge cannot reach
    // Mosquitto) and socket failures (domain not whitelisted, certificate problems) arrive here.
    this.client.on('error', (error) => this.setData({ error: error.message || String(error) }))
  },

  onUnload() {
    if (this.client) this.client.end(true)
  },

  setState(state) {
    this.setData({ state, stateText: STATE_TEXT[state] || state })
  },

  addMessage(topic, payload, packet) {
    const now = new Date()
    const message = {
      id: `${now.getTime()}-${Math.random()}`,
      time: now.toTimeString().slice(0, 8),
      topic,
      qos: packet.qos,
      retain: packet.retain,
      payload: payload.toString(), // UTF-8 text; binary payloads would need their own rendering
    }
    this.setData({ messages: [message].concat(this.data.messages).slice(0, MAX_MESSAGES) })
  },
})
