print("mqtt-ws-bridge")
