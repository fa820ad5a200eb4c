"""Turn events on the move: the SQLite outbox, the MQTT publisher, the recorder's store, redaction."""
