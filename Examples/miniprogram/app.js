// Nothing app-wide: the page opens and owns the MQTT connection (pages/index/index.js).
App({})
