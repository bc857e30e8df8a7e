"""For the engineer on call: health and readiness probes, metrics, log lines."""
