"""MQTT: the topic namespace, the device topic policy, EMQX webhook bodies."""
