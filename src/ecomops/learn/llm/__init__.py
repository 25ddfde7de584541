"""Language models behind one interface: extractive (offline), OpenAI-compatible HTTP, local HF."""
