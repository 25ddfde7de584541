"""Layer 1: event and entity schemas, configuration, errors."""
