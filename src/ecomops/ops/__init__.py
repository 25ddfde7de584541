"""Layer 4: the e-commerce applications built on the domain-free learners."""
