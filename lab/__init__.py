"""Research: the demo model's training code and the lab's probes. Not part of the product."""
