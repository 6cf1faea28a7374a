"""Zone configurations: the model, versioned storage, and sync to devices over MQTT."""
