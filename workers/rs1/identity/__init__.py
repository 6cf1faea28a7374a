"""Device identity: MAC → device id, key derivation, hourly MQTT passwords, bearer tokens."""
