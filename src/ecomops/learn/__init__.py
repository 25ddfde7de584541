"""Layer 2: domain-free machine learning (imports only from ``ecomops.core``)."""
