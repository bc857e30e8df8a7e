"""Reports: how the service is used, whether the emergency text line is answered in time, and delivery."""
