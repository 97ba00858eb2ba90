// Where the bridge is. Edit before running.
module.exports = {
  // Host name of the bridge, as listed in the console's "socket合法域名" (socket domain whitelist), without
  // "wss://". Port 443 is implied; write "host:port" for another one (it must then be whitelisted with that port).
  // Local try-out with `make run`: 'localhost:8443' (only in the developer tools, with domain checks off).
  host: 'mqtt.example.com',
  // The bridge's mini-program route (routes.miniprogram.path in Config/bridge.yaml).
  path: '/wss',
  // What to subscribe to; a backend publishes to it (mosquitto_pub -t demo/push/hello -m 'Hi').
  topic: 'demo/push/#',
  // Only if Mosquitto requires them: the bridge passes CONNECT unchanged, so these are Mosquitto's accounts.
  username: '',
  password: '',
}
