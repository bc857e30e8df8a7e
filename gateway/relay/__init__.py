"""The emergency text relay: cases, texts to the relay line, control-room commands."""
