#ifndef MQTT_WS_BRIDGE_CMOSQUITTO_SHIM_H
#define MQTT_WS_BRIDGE_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#endif
