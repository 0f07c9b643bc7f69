"""Camera health: frame capture, frame analysis and the single-camera check."""
