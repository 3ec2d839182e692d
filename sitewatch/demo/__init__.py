"""The guided demo: a simulated customer site (`site`) and the story told on it (`tour`)."""
