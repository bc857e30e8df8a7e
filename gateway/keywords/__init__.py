"""What the service says: the keyword file, its checks, the engine that decides, published versions."""
